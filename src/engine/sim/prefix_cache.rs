//! The sim's prefix cache, shaped like vLLM's automatic prefix caching:
//! prompts are cut into blocks of `block_size` tokens, each block named by a
//! hash of its tokens chained with its parent's, and a new prompt reuses the
//! longest run of leading full blocks already cached, never all of it (at
//! least one token is computed, for the logits). Blocks are evicted least
//! recently used first, and of blocks used together the deepest first, so a
//! prefix is never left without its start.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hasher;

/// A chained block hash.
type BlockHash = u64;

pub struct PrefixCache {
    block_size: usize,
    capacity_blocks: usize,
    /// Each cached block's eviction key.
    blocks: HashMap<BlockHash, (u64, u32)>,
    /// `(last used, u32::MAX - depth, hash)`: the first entry goes first.
    order: BTreeSet<(u64, u32, BlockHash)>,
    tick: u64,
}

impl PrefixCache {
    pub fn new(capacity_tokens: u64, block_size: u32) -> Self {
        Self {
            block_size: block_size as usize,
            capacity_blocks: (capacity_tokens / u64::from(block_size)) as usize,
            blocks: HashMap::new(),
            order: BTreeSet::new(),
            tick: 0,
        }
    }

    /// Cached leading tokens of `tokens` (a whole prompt), a multiple of the
    /// block size below its length; the blocks found count as used.
    pub fn lookup(&mut self, tokens: &[u32]) -> u64 {
        let usable = tokens.len().saturating_sub(1);
        let hashes = block_hashes(&tokens[..usable], self.block_size);
        let hits = hashes
            .iter()
            .take_while(|h| self.blocks.contains_key(h))
            .count();
        self.touch(&hashes[..hits]);
        (hits * self.block_size) as u64
    }

    /// Caches every full block of `tokens` (whose KV has been computed).
    pub fn insert(&mut self, tokens: &[u32]) {
        let hashes = block_hashes(tokens, self.block_size);
        self.touch(&hashes);
        while self.blocks.len() > self.capacity_blocks {
            let Some(first) = self.order.pop_first() else {
                break;
            };
            self.blocks.remove(&first.2);
        }
    }

    pub fn clear(&mut self) {
        self.blocks.clear();
        self.order.clear();
    }

    #[cfg(test)]
    pub fn cached_tokens(&self) -> u64 {
        (self.blocks.len() * self.block_size) as u64
    }

    /// Marks a chain of blocks as used now.
    fn touch(&mut self, chain: &[BlockHash]) {
        self.tick += 1;
        for (depth, &hash) in chain.iter().enumerate() {
            let key = (self.tick, u32::MAX - depth as u32);
            if let Some(old) = self.blocks.insert(hash, key) {
                self.order.remove(&(old.0, old.1, hash));
            }
            self.order.insert((key.0, key.1, hash));
        }
    }
}

/// The chained hash of every full block of `tokens`.
fn block_hashes(tokens: &[u32], block_size: usize) -> Vec<BlockHash> {
    let mut parent: BlockHash = 0;
    tokens
        .chunks_exact(block_size)
        .map(|block| {
            // SipHash with fixed keys: the same blocks hash alike in every run.
            let mut hasher = std::hash::DefaultHasher::new();
            hasher.write_u64(parent);
            for &token in block {
                hasher.write_u32(token);
            }
            parent = hasher.finish();
            parent
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(range: std::ops::Range<u32>) -> Vec<u32> {
        range.collect()
    }

    #[test]
    fn a_prompt_reuses_whole_leading_blocks_and_computes_at_least_one_token() {
        let mut cache = PrefixCache::new(1_000, 4);
        cache.insert(&ids(0..10)); // blocks 0..4 and 4..8
        assert_eq!(cache.cached_tokens(), 8);
        assert_eq!(cache.lookup(&ids(0..20)), 8);
        assert_eq!(cache.lookup(&ids(0..6)), 4, "only full blocks");
        assert_eq!(cache.lookup(&ids(0..8)), 4, "the last token is computed");
        assert_eq!(cache.lookup(&ids(0..9)), 8);
        let mut other = ids(0..20);
        other[1] = 99;
        assert_eq!(cache.lookup(&other), 0, "a block differs: the chain breaks");
    }

    #[test]
    fn eviction_takes_the_least_recently_used_deepest_blocks_first() {
        let mut cache = PrefixCache::new(12, 4); // three blocks
        cache.insert(&ids(0..8));
        cache.insert(&ids(100..104));
        cache.lookup(&ids(0..9)); // 0..8 used after 100..104
        cache.insert(&ids(200..204)); // one block too many: 100..104 goes
        assert_eq!(cache.lookup(&ids(100..105)), 0);
        assert_eq!(cache.lookup(&ids(0..9)), 8);
        cache.insert(&ids(300..304)); // 200..204 is now the oldest
        assert_eq!(cache.lookup(&ids(200..205)), 0);
        cache.insert(&ids(400..404)); // one more: 0..8 is the oldest, its tail goes
        assert_eq!(cache.lookup(&ids(0..9)), 4, "the start survives its tail");
        assert_eq!(cache.lookup(&ids(300..305)), 4);
        cache.clear();
        assert_eq!(cache.lookup(&ids(400..405)), 0);
    }
}
