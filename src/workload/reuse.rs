//! Prefix reuse of stand-alone prompts: how many leading tokens of each
//! prompt some earlier prompt already had, i.e. what an ideal prefix cache
//! (token-granular, never evicting) would hold when the prompt arrives.
//!
//! Every prefix of every prompt is remembered by a chained 64-bit hash, so
//! the cost is one hash per token and 8 bytes per distinct prefix; the odds
//! that two different prefixes share a hash are about `n^2 / 2^64`.

use std::collections::HashSet;

use super::WorkItem;

/// The hash of `prefix + [token]`, from the hash of `prefix`.
#[inline]
pub fn chain(hash: u64, token: u32) -> u64 {
    // splitmix64's finalizer over the pair: cheap and well mixed.
    let mut z = hash ^ (u64::from(token).wrapping_add(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Tokens of a prompt looked at: far beyond any model's context, so that a
/// prompt no engine would take (refused later, against the model's limit)
/// costs no more than this to look at.
pub const MAX_LOOKED_AT: usize = 1 << 20;

/// For each prompt, the longest prefix it shares with any earlier one. A
/// prompt repeated as the same allocation (a file's lines cycled to
/// `--num-prompts`) is all reused, without hashing it again.
pub fn shared_with_earlier(items: &[WorkItem]) -> Vec<u32> {
    let mut seen: HashSet<u64> = HashSet::new();
    let mut repeated: HashSet<*const u32> = HashSet::new();
    items
        .iter()
        .map(|item| {
            let tokens = &item.prompt_token_ids[..item.prompt_token_ids.len().min(MAX_LOOKED_AT)];
            if !repeated.insert(item.prompt_token_ids.as_ptr()) {
                return tokens.len() as u32;
            }
            let mut hash = 0;
            let mut shared = 0;
            let mut matching = true;
            for &token in tokens {
                hash = chain(hash, token);
                let new = seen.insert(hash);
                if matching && !new {
                    shared += 1;
                } else {
                    matching = false;
                }
            }
            shared
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_prompt_counts_what_earlier_ones_share_with_it() {
        let items: Vec<WorkItem> = [
            vec![1, 2, 3, 4],
            vec![1, 2, 9],
            vec![1, 2, 3, 4, 5],
            vec![7, 1, 2],
            vec![1, 2, 9, 9],
        ]
        .into_iter()
        .map(|ids| WorkItem::new(ids, 1))
        .collect();
        assert_eq!(shared_with_earlier(&items), [0, 2, 4, 0, 3]);
    }

    #[test]
    fn a_repeated_allocation_is_all_reused_as_hashing_would_say() {
        let first = WorkItem::new(vec![4, 5, 6], 1);
        let copy = WorkItem::new(vec![4, 5, 6], 1);
        let items = [first.clone(), first.clone(), copy];
        assert_eq!(shared_with_earlier(&items), [0, 3, 3]);
    }
}
