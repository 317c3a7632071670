//! What one row of totals per day and algorithm version holds besides its sums, stored as
//! compact JSON and merged when read: the processing times as a histogram (buckets keyed by
//! the top bits of the time's double, so they sort as the times do, each with its count and
//! its real min and max: `[[bucket, count, min_ms, max_ms], …]`), and how often each move was
//! recommended (`[[move_id, recommended, first], …]`).

use std::collections::BTreeMap;

use super::sql::StoreError;
use crate::types::metrics::{LatencyBucket, MoveTotals};

/// Mantissa bits kept in a bucket key: 32 buckets per doubling, each at most 3.2 % wide.
const MANTISSA_BITS: u32 = 5;

/// The bucket of a processing time in milliseconds (times are never negative).
pub fn bucket_of(ms: f64) -> i64 {
    (ms.max(0.0).to_bits() >> (52 - MANTISSA_BITS)) as i64
}

/// A histogram of processing times.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram(BTreeMap<i64, (u64, f64, f64)>);

impl Histogram {
    /// Counts one time.
    pub fn add(&mut self, ms: f64) {
        // `-0` is the zero of the first bucket, not a sign bit past every positive time.
        let ms = ms + 0.0;
        let entry = self.0.entry(bucket_of(ms)).or_insert((0, ms, ms));
        entry.0 += 1;
        entry.1 = entry.1.min(ms);
        entry.2 = entry.2.max(ms);
    }

    /// Adds every bucket of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (&bucket, &(count, min, max)) in &other.0 {
            let entry = self.0.entry(bucket).or_insert((0, min, max));
            entry.0 += count;
            entry.1 = entry.1.min(min);
            entry.2 = entry.2.max(max);
        }
    }

    /// The stored form.
    pub fn encode(&self) -> String {
        let rows: Vec<(i64, u64, f64, f64)> = self
            .0
            .iter()
            .map(|(&bucket, &(count, min, max))| (bucket, count, min, max))
            .collect();
        serde_json::to_string(&rows).unwrap_or_else(|_| "[]".to_string())
    }

    /// Reads the stored form.
    pub fn decode(text: &str) -> Result<Self, StoreError> {
        let rows: Vec<(i64, u64, f64, f64)> = serde_json::from_str(text).map_err(|error| {
            StoreError::Database(format!("a stored latency histogram is not valid: {error}"))
        })?;
        Ok(Self(
            rows.into_iter()
                .map(|(bucket, count, min, max)| (bucket, (count, min, max)))
                .collect(),
        ))
    }

    /// The buckets in ascending order of time.
    pub fn buckets(&self) -> Vec<LatencyBucket> {
        self.0
            .values()
            .map(|&(count, min_ms, max_ms)| LatencyBucket {
                count,
                min_ms,
                max_ms,
            })
            .collect()
    }
}

/// How often each move was recommended (by any decision, and first), by move id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MoveCounts(BTreeMap<String, (u64, u64)>);

impl MoveCounts {
    /// Counts one decision's moves, best first (a move listed twice counts once).
    pub fn add(&mut self, moves: &[String]) {
        let mut seen = std::collections::HashSet::with_capacity(moves.len());
        for (rank, id) in moves.iter().enumerate() {
            if !seen.insert(id.as_str()) {
                continue;
            }
            let entry = self.0.entry(id.clone()).or_default();
            entry.0 += 1;
            entry.1 += u64::from(rank == 0);
        }
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &MoveCounts) {
        for (id, &(recommended, first)) in &other.0 {
            let entry = self.0.entry(id.clone()).or_default();
            entry.0 += recommended;
            entry.1 += first;
        }
    }

    /// The stored form.
    pub fn encode(&self) -> String {
        let rows: Vec<(&str, u64, u64)> = self
            .0
            .iter()
            .map(|(id, &(recommended, first))| (id.as_str(), recommended, first))
            .collect();
        serde_json::to_string(&rows).unwrap_or_else(|_| "[]".to_string())
    }

    /// Reads the stored form.
    pub fn decode(text: &str) -> Result<Self, StoreError> {
        let rows: Vec<(String, u64, u64)> = serde_json::from_str(text).map_err(|error| {
            StoreError::Database(format!("stored move counts are not valid: {error}"))
        })?;
        Ok(Self(
            rows.into_iter()
                .map(|(id, recommended, first)| (id, (recommended, first)))
                .collect(),
        ))
    }

    /// The counts, most recommended first (ties by move id), at most `limit`.
    pub fn top(&self, limit: usize) -> Vec<MoveTotals> {
        let mut moves: Vec<MoveTotals> = self
            .0
            .iter()
            .map(|(id, &(recommended, first))| MoveTotals {
                move_id: id.clone(),
                recommended,
                first,
            })
            .collect();
        moves.sort_by(|a, b| {
            b.recommended
                .cmp(&a.recommended)
                .then_with(|| a.move_id.cmp(&b.move_id))
        });
        moves.truncate(limit);
        moves
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_sort_as_times_and_are_narrow() {
        let times = [0.0, 0.001, 0.5, 1.0, 1.03, 12.5, 100.0, 1e6];
        let buckets: Vec<i64> = times.iter().map(|&t| bucket_of(t)).collect();
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(bucket_of(1.0), bucket_of(1.03));
        assert_ne!(bucket_of(1.0), bucket_of(1.032));
    }

    #[test]
    fn merged_and_stored_histograms_keep_counts_and_extremes() {
        let mut a = Histogram::default();
        for ms in [10.0, 10.1, 50.0] {
            a.add(ms);
        }
        let mut b = Histogram::default();
        b.add(10.05);
        b.add(400.0);
        a.merge(&b);
        let stored = Histogram::decode(&a.encode()).expect("decode");
        assert_eq!(stored, a);
        let buckets = stored.buckets();
        assert_eq!(buckets.iter().map(|b| b.count).sum::<u64>(), 5);
        assert_eq!(
            (buckets[0].count, buckets[0].min_ms, buckets[0].max_ms),
            (3, 10.0, 10.1)
        );
        assert!(Histogram::decode("not json").is_err());
    }
}

#[cfg(test)]
mod move_tests {
    use super::MoveCounts;

    #[test]
    fn moves_are_counted_once_per_decision_merged_and_stored() {
        let mut a = MoveCounts::default();
        a.add(&["basic".into(), "spin".into(), "basic".into()]);
        a.add(&["spin".into()]);
        let mut b = MoveCounts::default();
        b.add(&["dip".into(), "basic".into()]);
        a.merge(&b);
        let stored = MoveCounts::decode(&a.encode()).expect("decode");
        assert_eq!(stored, a);
        let top: Vec<_> = stored
            .top(10)
            .into_iter()
            .map(|m| (m.move_id, m.recommended, m.first))
            .collect();
        assert_eq!(
            top,
            [
                ("basic".into(), 2, 1),
                ("spin".into(), 2, 1),
                ("dip".into(), 1, 1)
            ]
        );
        assert_eq!(stored.top(1).len(), 1);
    }
}
