//! Bytes per range of eviction keys, in bounded memory: the cache cap's way of finding its
//! cut-off without holding the area.
//!
//! Keys are counted into buckets of `2^shift` consecutive keys; when more than [`BUCKETS`]
//! buckets are in use, neighbours merge (the shift grows by one). A scan fills one
//! histogram over a range of keys; the bucket that holds the cut-off becomes the range of
//! the next scan, until that range is a single key.

use std::collections::BTreeMap;

/// Most buckets in use at once (each a few dozen bytes).
pub const BUCKETS: usize = 4096;

/// Bytes per bucket of keys within `lo..=hi`.
#[derive(Debug, Clone)]
pub struct Histogram {
    lo: u64,
    hi: u64,
    shift: u32,
    buckets: BTreeMap<u64, u64>,
}

/// Where the cut-off lies: the keys of `lo..=hi` hold it, with `before` bytes below `lo`
/// (within the histogram's range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crossing {
    /// Lowest key of the bucket.
    pub lo: u64,
    /// Highest key of the bucket.
    pub hi: u64,
    /// Bytes of the keys in range below `lo`.
    pub before: u64,
}

impl Histogram {
    /// An empty histogram of the keys `lo..=hi`.
    pub fn new(lo: u64, hi: u64) -> Self {
        Self {
            lo,
            hi,
            shift: 0,
            buckets: BTreeMap::new(),
        }
    }

    /// The range of keys counted, inclusive.
    pub fn range(&self) -> (u64, u64) {
        (self.lo, self.hi)
    }

    /// Counts `bytes` at `key`; keys outside the range are ignored.
    pub fn add(&mut self, key: u64, bytes: u64) {
        if key < self.lo || key > self.hi {
            return;
        }
        let bucket = (key - self.lo) >> self.shift;
        let slot = self.buckets.entry(bucket).or_insert(0);
        *slot = slot.saturating_add(bytes);
        while self.buckets.len() > BUCKETS {
            self.coarsen();
        }
    }

    fn coarsen(&mut self) {
        self.shift += 1;
        let old = std::mem::take(&mut self.buckets);
        for (bucket, bytes) in old {
            let slot = self.buckets.entry(bucket >> 1).or_insert(0);
            *slot = slot.saturating_add(bytes);
        }
    }

    /// Total bytes counted.
    pub fn total(&self) -> u64 {
        self.buckets
            .values()
            .fold(0u64, |sum, bytes| sum.saturating_add(*bytes))
    }

    /// The bucket in which the running total (from the lowest key) first reaches `need`
    /// bytes; `None` when all of it is less.
    pub fn crossing(&self, need: u64) -> Option<Crossing> {
        let mut before = 0u64;
        for (&bucket, &bytes) in &self.buckets {
            if before.saturating_add(bytes) >= need {
                let lo = self.lo.saturating_add(bucket << self.shift);
                let width = 1u64.checked_shl(self.shift).unwrap_or(u64::MAX);
                let hi = lo.saturating_add(width - 1).min(self.hi);
                return Some(Crossing { lo, hi, before });
            }
            before = before.saturating_add(bytes);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_keys_are_exact() {
        let mut histogram = Histogram::new(0, u64::MAX);
        for key in [5, 3, 9, 3] {
            histogram.add(key, 10);
        }
        assert_eq!(histogram.total(), 40);
        assert_eq!(
            histogram.crossing(15),
            Some(Crossing {
                lo: 3,
                hi: 3,
                before: 0
            })
        );
        assert_eq!(
            histogram.crossing(21),
            Some(Crossing {
                lo: 5,
                hi: 5,
                before: 20
            })
        );
        assert_eq!(histogram.crossing(41), None);
        assert_eq!(
            histogram.crossing(0),
            Some(Crossing {
                lo: 3,
                hi: 3,
                before: 0
            })
        );
    }

    #[test]
    fn many_keys_merge_into_bounded_buckets_that_still_hold_the_cut() {
        let mut histogram = Histogram::new(1_000, u64::MAX);
        for key in 0..100_000u64 {
            histogram.add(1_000 + key * 7, 1);
        }
        assert!(histogram.buckets.len() <= BUCKETS);
        let crossing = histogram.crossing(50_000).expect("inside");
        // The 50,000th key (index 49,999) lies in the bucket, and the bytes before it are
        // exactly the keys below the bucket.
        let key = 1_000 + 49_999 * 7;
        assert!(crossing.lo <= key && key <= crossing.hi, "{crossing:?}");
        let below = (0..100_000u64)
            .filter(|k| 1_000 + k * 7 < crossing.lo)
            .count() as u64;
        assert_eq!(crossing.before, below);
    }

    #[test]
    fn keys_outside_the_range_are_ignored_and_the_top_key_fits() {
        let mut histogram = Histogram::new(10, u64::MAX);
        histogram.add(9, 100);
        histogram.add(u64::MAX, 1);
        assert_eq!(histogram.total(), 1);
        let crossing = histogram.crossing(1).expect("inside");
        assert_eq!((crossing.lo, crossing.hi), (u64::MAX, u64::MAX));
    }
}
