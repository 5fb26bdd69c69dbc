//! Random token ids with input/output lengths spread by a range ratio, as
//! `vllm bench serve --dataset-name random`: each length is drawn uniformly
//! from `[len * (1 - ratio), len * (1 + ratio)]`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::WorkItem;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RandomSpec {
    pub input_len: u32,
    pub output_len: u32,
    /// In `[0, 1)`: 0 gives every request exactly the lengths above.
    pub range_ratio: f64,
    /// Token ids are drawn from `vocab_lo..vocab_hi`.
    pub vocab_lo: u32,
    pub vocab_hi: u32,
    /// Tokens shared by every prompt, placed before its random part.
    pub prefix_len: u32,
}

/// Inclusive length bounds for `len` spread by `ratio`, never below 1.
pub fn length_bounds(len: u32, ratio: f64) -> (u32, u32) {
    let lo = (len as f64 * (1.0 - ratio)).floor().max(1.0) as u32;
    let hi = (len as f64 * (1.0 + ratio)).floor().max(lo as f64) as u32;
    (lo, hi)
}

pub fn generate(spec: &RandomSpec, count: usize, seed: u64) -> Vec<WorkItem> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let token = |rng: &mut ChaCha8Rng| rng.random_range(spec.vocab_lo..spec.vocab_hi);
    let prefix: Vec<u32> = (0..spec.prefix_len).map(|_| token(&mut rng)).collect();
    let (in_lo, in_hi) = length_bounds(spec.input_len, spec.range_ratio);
    let (out_lo, out_hi) = length_bounds(spec.output_len, spec.range_ratio);
    (0..count)
        .map(|_| {
            let input_len = rng.random_range(in_lo..=in_hi);
            let output_len = rng.random_range(out_lo..=out_hi);
            let mut ids = prefix.clone();
            ids.extend((0..input_len).map(|_| token(&mut rng)));
            WorkItem::new(ids, output_len)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(ratio: f64) -> RandomSpec {
        RandomSpec {
            input_len: 100,
            output_len: 20,
            range_ratio: ratio,
            vocab_lo: 10,
            vocab_hi: 50,
            prefix_len: 0,
        }
    }

    #[test]
    fn same_seed_same_ids_and_other_seed_other_ids() {
        assert_eq!(generate(&spec(0.5), 8, 3), generate(&spec(0.5), 8, 3));
        assert_ne!(generate(&spec(0.5), 8, 3), generate(&spec(0.5), 8, 4));
    }

    #[test]
    fn zero_ratio_gives_exact_lengths_and_ids_stay_in_range() {
        for item in generate(&spec(0.0), 16, 1) {
            assert_eq!(item.input_len(), 100);
            assert_eq!(item.max_output_tokens, 20);
            assert!(item.prompt_token_ids.iter().all(|&t| (10..50).contains(&t)));
        }
    }

    #[test]
    fn lengths_spread_over_the_whole_range() {
        let items = generate(&spec(0.5), 2000, 9);
        let lens: Vec<u32> = items.iter().map(|i| i.input_len()).collect();
        assert_eq!(*lens.iter().min().unwrap(), 50);
        assert_eq!(*lens.iter().max().unwrap(), 150);
    }

    #[test]
    fn prefix_is_shared_by_every_prompt() {
        let items = generate(
            &RandomSpec {
                prefix_len: 7,
                ..spec(0.0)
            },
            4,
            2,
        );
        let first = &items[0].prompt_token_ids[..7];
        assert!(items.iter().all(|i| &i.prompt_token_ids[..7] == first));
        assert_eq!(items[0].input_len(), 107);
    }
}
