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

/// For each prompt, the longest prefix it shares with any earlier one.
pub fn shared_with_earlier(items: &[WorkItem]) -> Vec<u32> {
    let mut seen: HashSet<u64> = HashSet::new();
    items
        .iter()
        .map(|item| {
            let mut hash = 0;
            let mut shared = 0;
            let mut matching = true;
            for &token in item.prompt_token_ids.iter() {
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
}
