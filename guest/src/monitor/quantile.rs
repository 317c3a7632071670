//! Processing-time percentiles from the host's histogram, interpolated between closest ranks
//! (Hyndman and Fan's type 7, NumPy's default).

use crate::types::{LatencyBucket, Percentiles};

/// The value at 0-based rank `rank` of the sorted times the buckets describe: the bucket
/// holding it is read as `count` times evenly spread between its min and max.
fn at_rank(buckets: &[LatencyBucket], rank: u64) -> f64 {
    let mut before = 0u64;
    for bucket in buckets {
        if rank < before + bucket.count {
            let within = rank - before;
            if bucket.count <= 1 {
                return bucket.min_ms;
            }
            let step = (bucket.max_ms - bucket.min_ms) / (bucket.count - 1) as f64;
            return bucket.min_ms + step * within as f64;
        }
        before += bucket.count;
    }
    buckets.last().map_or(0.0, |bucket| bucket.max_ms)
}

/// The `q`-quantile (0 ≤ q ≤ 1) of the times the buckets describe; 0 when they are empty.
pub fn quantile(buckets: &[LatencyBucket], q: f64) -> f64 {
    let n: u64 = buckets.iter().map(|bucket| bucket.count).sum();
    if n == 0 {
        return 0.0;
    }
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let low = h.floor();
    let lower = at_rank(buckets, low as u64);
    let fraction = h - low;
    if fraction == 0.0 {
        return lower;
    }
    let upper = at_rank(buckets, low as u64 + 1);
    lower + fraction * (upper - lower)
}

/// p50, p95 and p99 of the times the buckets describe.
pub fn percentiles(buckets: &[LatencyBucket]) -> Percentiles {
    Percentiles {
        p50: quantile(buckets, 0.50),
        p95: quantile(buckets, 0.95),
        p99: quantile(buckets, 0.99),
    }
}
