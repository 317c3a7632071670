//! GrowthBook's deterministic assignment, as its SDKs implement it (`hash`, `getEqualWeights`,
//! `getBucketRanges`, `chooseVariation`, `inNamespace`), so that a unit lands in the same
//! variation here and in any GrowthBook SDK. Checked against the SDK's cross-language test
//! vectors (`tests/vectors/growthbook.json`).

use crate::types::Namespace;

/// 32-bit FNV-1a over the UTF-16 code units of `text`, as JavaScript's `charCodeAt` reads a
/// string. The SDK spells the multiplication by the FNV prime 16777619 as shifts and adds,
/// which is the same product modulo 2³².
pub fn fnv1a32(text: &str) -> u32 {
    text.encode_utf16().fold(0x811c_9dc5_u32, |hash, unit| {
        (hash ^ u32::from(unit)).wrapping_mul(16_777_619)
    })
}

/// `hash(seed, value, version)`: a number in [0, 1), or `None` for an unknown version.
pub fn hash(seed: &str, value: &str, version: u32) -> Option<f64> {
    match version {
        2 => {
            let inner = fnv1a32(&format!("{seed}{value}"));
            Some(f64::from(fnv1a32(&inner.to_string()) % 10_000) / 10_000.0)
        }
        1 => Some(f64::from(fnv1a32(&format!("{value}{seed}")) % 1_000) / 1_000.0),
        _ => None,
    }
}

/// `count` equal weights (none when `count` ≤ 0).
pub fn equal_weights(count: i32) -> Vec<f64> {
    match usize::try_from(count) {
        Ok(n) if n > 0 => vec![1.0 / f64::from(count); n],
        _ => Vec::new(),
    }
}

/// Each variation's `[start, end)`: consecutive slices as wide as the weights, each keeping the
/// first `coverage` of its slice; equal weights when `weights` are absent, of another length
/// or not summing to 1 ± 0.01.
pub fn bucket_ranges(count: i32, coverage: f64, weights: Option<&[f64]>) -> Vec<(f64, f64)> {
    // As the SDK's `<` and `>` do, `clamp` lets NaN through unchanged.
    let coverage = coverage.clamp(0.0, 1.0);
    let equal = equal_weights(count);
    let mut weights = weights.map_or_else(|| equal.clone(), <[f64]>::to_vec);
    if usize::try_from(count).ok() != Some(weights.len()) {
        weights = equal.clone();
    }
    let total: f64 = weights.iter().sum();
    if !(0.99..=1.01).contains(&total) {
        weights = equal;
    }
    let mut cumulative = 0.0;
    weights
        .iter()
        .map(|weight| {
            let start = cumulative;
            cumulative += weight;
            (start, start + coverage * weight)
        })
        .collect()
}

/// The first variation whose range holds `n`, or −1.
pub fn choose_variation(n: f64, ranges: &[(f64, f64)]) -> i32 {
    ranges
        .iter()
        .position(|&(start, end)| n >= start && n < end)
        .and_then(|index| i32::try_from(index).ok())
        .unwrap_or(-1)
}

/// Whether `unit` falls in the namespace's slice.
pub fn in_namespace(unit: &str, namespace: &Namespace) -> bool {
    hash(&format!("__{}", namespace.id), unit, 1)
        .is_some_and(|n| n >= namespace.start && n < namespace.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_values() {
        // The FNV-1a 32-bit test values of the algorithm's authors.
        assert_eq!(fnv1a32(""), 0x811c_9dc5);
        assert_eq!(fnv1a32("a"), 0xe40c_292c);
        assert_eq!(fnv1a32("foobar"), 0xbf9c_f968);
    }

    #[test]
    fn hash_versions() {
        assert_eq!(hash("", "a", 1), Some(0.22));
        assert_eq!(hash("seed", "a", 3), None);
        for version in [1, 2] {
            let n = hash("seed", "unit", version).unwrap_or(-1.0);
            assert!((0.0..1.0).contains(&n));
        }
    }

    #[test]
    fn ranges_fall_back_to_equal_weights() {
        assert_eq!(
            bucket_ranges(2, 1.0, Some(&[0.4, 0.4])),
            vec![(0.0, 0.5), (0.5, 1.0)]
        );
        assert_eq!(
            bucket_ranges(2, 0.5, Some(&[0.2, 0.8])),
            vec![(0.0, 0.1), (0.2, 0.6000000000000001)]
        );
        assert_eq!(choose_variation(0.15, &[(0.0, 0.1), (0.2, 0.6)]), -1);
        assert_eq!(choose_variation(0.2, &[(0.0, 0.1), (0.2, 0.6)]), 1);
        assert!(equal_weights(-1).is_empty());
    }
}
