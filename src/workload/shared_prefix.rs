//! Shared-prefix multi-user conversations, as in long-document QA benchmarks:
//! each of N users owns a long context (its document) that every one of its
//! requests repeats, followed by a fresh question. Requests go round by round
//! (every user's first question, then every user's second, ...), so an engine
//! with prefix caching can reuse each user's context across rounds.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::WorkItem;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SharedPrefixSpec {
    pub num_users: u32,
    pub context_len: u32,
    pub question_len: u32,
    pub output_len: u32,
    pub vocab_lo: u32,
    pub vocab_hi: u32,
}

pub fn generate(spec: &SharedPrefixSpec, count: usize, seed: u64) -> Vec<WorkItem> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut tokens = |n: u32| -> Vec<u32> {
        (0..n)
            .map(|_| rng.random_range(spec.vocab_lo..spec.vocab_hi))
            .collect()
    };
    let contexts: Vec<Vec<u32>> = (0..spec.num_users)
        .map(|_| tokens(spec.context_len))
        .collect();
    (0..count)
        .map(|i| {
            let mut ids = contexts[i % contexts.len()].clone();
            ids.extend(tokens(spec.question_len));
            WorkItem::new(ids, spec.output_len)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_reuse_their_own_context_round_after_round() {
        let spec = SharedPrefixSpec {
            num_users: 3,
            context_len: 50,
            question_len: 5,
            output_len: 8,
            vocab_lo: 0,
            vocab_hi: 1000,
        };
        let items = generate(&spec, 7, 1);
        assert_eq!(items.len(), 7);
        let context = |i: usize| &items[i].prompt_token_ids[..50];
        assert_eq!(context(0), context(3));
        assert_eq!(context(0), context(6));
        assert_eq!(context(1), context(4));
        assert_ne!(context(0), context(1));
        assert_ne!(
            items[0].prompt_token_ids[50..],
            items[3].prompt_token_ids[50..]
        );
        assert!(items
            .iter()
            .all(|i| i.input_len() == 55 && i.max_output_tokens == 8));
    }
}
