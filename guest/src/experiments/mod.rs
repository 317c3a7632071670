//! A/B experiments: the rules of a definition, GrowthBook-compatible assignment, the metrics
//! an experiment can be judged on, and the analysis of its results. The formulas are the ones
//! documented in `wit/experiments.wit`.

mod analysis;
pub mod hash;
pub mod stats;
#[cfg(test)]
mod tests;

pub use analysis::analyze;
pub use hash::{bucket_ranges, choose_variation, equal_weights, in_namespace};

use crate::catalog;
use crate::types::{
    AppError, Assignment, AssignmentReason, Definition, ErrorKind, Metric, Quantity,
    ValidationContext,
};

/// The longest test id and algorithm version.
const MAX_ID: usize = 128;
/// The longest test name and seed.
const MAX_NAME: usize = 256;
/// The most variations and success metrics.
const MAX_VARIATIONS: usize = 20;

/// The metrics this policy knows.
pub fn metrics() -> Vec<Metric> {
    let metric = |name: &str, description: &str, numerator, denominator, higher| Metric {
        name: name.to_string(),
        description: description.to_string(),
        numerator,
        denominator,
        higher_is_better: higher,
    };
    use Quantity::*;
    vec![
        metric(
            "user_satisfaction",
            "(likes + uses + Σ (rating − 1)/4) over likes, uses, dislikes, skips and ratings",
            Satisfied,
            Some(Judged),
            true,
        ),
        metric(
            "like_rate",
            "likes per decision",
            Likes,
            Some(Decisions),
            true,
        ),
        metric("use_rate", "uses per decision", Uses, Some(Decisions), true),
        metric(
            "skip_rate",
            "skips per decision",
            Skips,
            Some(Decisions),
            false,
        ),
        metric(
            "dislike_rate",
            "dislikes per decision",
            Dislikes,
            Some(Decisions),
            false,
        ),
        metric(
            "mean_rating",
            "mean rating (1 to 5)",
            RatingSum,
            Some(Ratings),
            true,
        ),
        metric(
            "processing_time_ms",
            "mean processing time per decision, in milliseconds",
            ProcessingMs,
            Some(Decisions),
            false,
        ),
        metric(
            "decisions_per_unit",
            "decisions per exposed unit",
            Decisions,
            None,
            true,
        ),
    ]
}

/// The metric named `name`.
pub fn metric(name: &str) -> Option<Metric> {
    metrics().into_iter().find(|metric| metric.name == name)
}

/// A validation error naming the definition's field.
pub(crate) fn invalid(field: &str, value: impl Into<String>, expected: &str) -> AppError {
    let value = value.into();
    catalog::make_error(
        ErrorKind::Validation(ValidationContext {
            field: Some(field.to_string()),
            value: Some(value.clone()),
        }),
        format!("experiment {field} {value:?} is invalid: expected {expected}"),
        Vec::new(),
    )
}

/// Whether `text` is 1 to `max` characters without control characters.
fn printable(text: &str, max: usize) -> bool {
    !text.trim().is_empty() && text.chars().count() <= max && !text.chars().any(char::is_control)
}

/// `definition.check`: every rule of a definition.
pub fn check(d: &Definition) -> Result<(), AppError> {
    // The first character a letter or digit: `.`, `..` and `-…` are no names for a URL
    // path segment or a command line.
    let id_ok = (1..=MAX_ID).contains(&d.test_id.len())
        && d.test_id
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && d.test_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !id_ok {
        return Err(invalid(
            "test_id",
            &d.test_id,
            "1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit",
        ));
    }
    if !printable(&d.test_name, MAX_NAME) {
        return Err(invalid(
            "test_name",
            &d.test_name,
            "a name of 1 to 256 characters",
        ));
    }
    if d.end_ms <= d.start_ms {
        return Err(invalid(
            "end_date",
            d.end_ms.to_string(),
            "an end after the start",
        ));
    }
    check_versions(d)?;
    if !(0.0..=1.0).contains(&d.coverage) {
        return Err(invalid(
            "coverage",
            d.coverage.to_string(),
            "a share from 0 to 1",
        ));
    }
    if !printable(&d.seed, MAX_NAME) {
        return Err(invalid("seed", &d.seed, "1 to 256 characters"));
    }
    if !matches!(d.hash_version, 1 | 2) {
        return Err(invalid(
            "hash_version",
            d.hash_version.to_string(),
            "1 or 2",
        ));
    }
    check_metrics(&d.success_metrics)?;
    if d.minimum_sample_size < 2 {
        return Err(invalid(
            "minimum_sample_size",
            d.minimum_sample_size.to_string(),
            "at least 2 units",
        ));
    }
    if let Some(namespace) = &d.namespace {
        let slice_ok = (0.0..=1.0).contains(&namespace.start)
            && (0.0..=1.0).contains(&namespace.end)
            && namespace.start < namespace.end;
        if !printable(&namespace.id, MAX_ID) || !slice_ok {
            return Err(invalid(
                "namespace",
                format!("[{}, {}, {}]", namespace.id, namespace.start, namespace.end),
                "[id, start, end) with a non-empty id and 0 ≤ start < end ≤ 1",
            ));
        }
    }
    Ok(())
}

fn check_versions(d: &Definition) -> Result<(), AppError> {
    let versions = &d.algorithm_versions;
    if !(2..=MAX_VARIATIONS).contains(&versions.len()) {
        return Err(invalid(
            "algorithm_versions",
            versions.join(", "),
            "2 to 20 versions, the control first",
        ));
    }
    for (i, version) in versions.iter().enumerate() {
        if !printable(version, MAX_ID) {
            return Err(invalid(
                "algorithm_versions",
                version,
                "versions of 1 to 128 characters",
            ));
        }
        if versions[..i].contains(version) {
            return Err(invalid(
                "algorithm_versions",
                version,
                "distinct versions (this one is listed twice)",
            ));
        }
    }
    let split = &d.traffic_split;
    let listed = |version: &String| split.iter().filter(|(v, _)| v == version).count();
    let shown = || {
        split
            .iter()
            .map(|(version, weight)| format!("{version}={weight}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if split.len() != versions.len() || versions.iter().any(|version| listed(version) != 1) {
        return Err(invalid(
            "traffic_split",
            shown(),
            "one weight for each algorithm version, and no other",
        ));
    }
    let total: f64 = split.iter().map(|(_, weight)| weight).sum();
    let weights_ok = split
        .iter()
        .all(|(_, weight)| weight.is_finite() && *weight >= 0.0);
    if !weights_ok || !(0.99..=1.01).contains(&total) {
        return Err(invalid(
            "traffic_split",
            shown(),
            "weights of at least 0 summing to 1 (± 0.01)",
        ));
    }
    Ok(())
}

fn check_metrics(names: &[String]) -> Result<(), AppError> {
    let known = metrics()
        .into_iter()
        .map(|metric| metric.name)
        .collect::<Vec<_>>();
    if names.is_empty() || names.len() > MAX_VARIATIONS {
        return Err(invalid(
            "success_metrics",
            names.join(", "),
            "1 to 20 metric names",
        ));
    }
    for (i, name) in names.iter().enumerate() {
        if !known.contains(name) {
            let expected = format!("one of {}", known.join(", "));
            return Err(invalid("success_metrics", name, &expected));
        }
        if names[..i].contains(name) {
            return Err(invalid(
                "success_metrics",
                name,
                "distinct metrics (this one is listed twice)",
            ));
        }
    }
    Ok(())
}

/// The split's weights in the order of the versions.
pub fn weights(d: &Definition) -> Vec<f64> {
    d.algorithm_versions
        .iter()
        .map(|version| {
            d.traffic_split
                .iter()
                .find(|(v, _)| v == version)
                .map_or(0.0, |(_, weight)| *weight)
        })
        .collect()
}

/// `assign`: GrowthBook's `runExperiment` for one unit, with the experiment's dates first.
pub fn assign(d: &Definition, unit: &str, now_ms: i64) -> Result<Assignment, AppError> {
    check(d)?;
    let served = |variation: usize, bucket, reason| Assignment {
        variation: u32::try_from(variation).unwrap_or(0),
        version: d.algorithm_versions[variation].clone(),
        in_experiment: reason == AssignmentReason::Assigned,
        bucket,
        reason,
    };
    if unit.is_empty() {
        return Ok(served(0, None, AssignmentReason::NoUnit));
    }
    if now_ms < d.start_ms {
        return Ok(served(0, None, AssignmentReason::NotStarted));
    }
    if now_ms >= d.end_ms {
        return Ok(served(0, None, AssignmentReason::Ended));
    }
    if let Some(namespace) = &d.namespace
        && !in_namespace(unit, namespace)
    {
        return Ok(served(0, None, AssignmentReason::NotInNamespace));
    }
    let count = i32::try_from(d.algorithm_versions.len()).unwrap_or(0);
    let ranges = bucket_ranges(count, d.coverage, Some(&weights(d)));
    let Some(n) = hash::hash(&d.seed, unit, d.hash_version) else {
        return Ok(served(0, None, AssignmentReason::NotInCoverage));
    };
    Ok(match usize::try_from(choose_variation(n, &ranges)) {
        Ok(variation) => served(variation, Some(n), AssignmentReason::Assigned),
        Err(_) => served(0, Some(n), AssignmentReason::NotInCoverage),
    })
}
