//! The analysis of an experiment: every success metric × every variation against the control,
//! the sample-ratio check, the p-value adjustment and a verdict.

use super::stats::{self, ALPHA, SRM_MIN_UNITS, SRM_THRESHOLD, Statistic, Unestimable};
use super::{check, invalid, metric, weights};
use crate::types::{
    Analysis, AnalysisInput, AppError, Arm, ArmSummary, Comparison, Metric, MetricSums, Outcome,
    SampleRatio, Sums, Verdict, VerdictKind,
};

/// Rejects input that does not fit the definition, or sums no data could give.
fn check_input(input: &AnalysisInput) -> Result<Vec<Metric>, AppError> {
    let d = &input.definition;
    check(d)?;
    if input.arms.len() != d.algorithm_versions.len() {
        return Err(invalid(
            "arms",
            input.arms.len().to_string(),
            "one arm per algorithm version",
        ));
    }
    let metrics: Vec<Metric> = d
        .success_metrics
        .iter()
        .filter_map(|name| metric(name))
        .collect();
    for (arm, version) in input.arms.iter().zip(&d.algorithm_versions) {
        if arm.metrics.len() != metrics.len() {
            return Err(invalid(
                "arms",
                version,
                "one set of sums per success metric",
            ));
        }
        for (sums, metric) in arm.metrics.iter().zip(&metrics) {
            let field = format!("{version}.{}", metric.name);
            let finite = |s: &Sums| s.sum.is_finite() && s.sum_squares.is_finite();
            let numbers_ok = finite(&sums.numerator)
                && sums.numerator.sum_squares >= 0.0
                && sums.sum_products.is_finite()
                && sums
                    .denominator
                    .as_ref()
                    .is_none_or(|d| finite(d) && d.sum_squares >= 0.0);
            if !numbers_ok {
                return Err(invalid(
                    "sums",
                    field,
                    "finite sums and non-negative sums of squares",
                ));
            }
            if sums.denominator.is_some() != metric.denominator.is_some() {
                return Err(invalid(
                    "sums",
                    field,
                    "denominator sums exactly for ratio metrics",
                ));
            }
        }
    }
    Ok(metrics)
}

/// One arm's statistic for the metric at `index`.
fn statistic(arm: &Arm, index: usize) -> Statistic {
    let sums: &MetricSums = &arm.metrics[index];
    match &sums.denominator {
        Some(denominator) => {
            stats::ratio_statistic(arm.units, &sums.numerator, denominator, sums.sum_products)
        }
        None => stats::mean_statistic(arm.units, &sums.numerator),
    }
}

/// `analyze`.
pub fn analyze(input: &AnalysisInput) -> Result<Analysis, AppError> {
    let metrics = check_input(input)?;
    let d = &input.definition;
    let split = weights(d);
    let control = &input.arms[0];
    let mut comparisons = Vec::new();
    for (index, metric) in metrics.iter().enumerate() {
        let a = statistic(control, index);
        for (arm, version) in input.arms.iter().zip(&d.algorithm_versions).skip(1) {
            let b = statistic(arm, index);
            let mut comparison = compare(metric, version, &a, &b, d.sequential);
            let no_denominator = |arm: &Arm| {
                arm.units > 0
                    && arm.metrics[index]
                        .denominator
                        .as_ref()
                        .is_some_and(|sums| sums.sum == 0.0)
            };
            if comparison.absolute.is_none() && (no_denominator(control) || no_denominator(arm)) {
                comparison.problem = Some(Unestimable::NoDenominator.describe().to_string());
            }
            comparisons.push(comparison);
        }
    }
    // The adjustment runs over the comparisons that have a p-value: the relative effect's
    // (what the page and the verdict show), the absolute one's when there is no relative.
    let tested = |c: &Comparison| c.relative.as_ref().or(c.absolute.as_ref()).copied();
    let p_values: Vec<f64> = comparisons
        .iter()
        .filter_map(|c| tested(c).map(|e| e.p_value))
        .collect();
    let mut adjusted = stats::adjust(&p_values, input.correction).into_iter();
    let per_metric = d.algorithm_versions.len() - 1;
    let directions = metrics
        .iter()
        .flat_map(|m| std::iter::repeat_n(m.higher_is_better, per_metric));
    for (comparison, higher_is_better) in comparisons.iter_mut().zip(directions) {
        if let Some(estimate) = tested(comparison) {
            let p = adjusted.next().unwrap_or(1.0);
            comparison.adjusted_p_value = Some(p);
            let good = (estimate.effect > 0.0) == higher_is_better;
            if p < ALPHA {
                comparison.outcome = if good {
                    Outcome::Better
                } else {
                    Outcome::Worse
                };
            }
        }
    }
    let units: Vec<u64> = input.arms.iter().map(|arm| arm.units).collect();
    let sample_ratio = sample_ratio(&units, &split);
    let arms = arm_summaries(d.algorithm_versions.iter(), &units, &split);
    let verdict = verdict(input, &arms, &sample_ratio, &comparisons);
    Ok(Analysis {
        test_id: d.test_id.clone(),
        sequential: d.sequential,
        correction: input.correction,
        arms,
        multi_exposed: input.multi_exposed,
        sample_ratio,
        comparisons,
        verdict,
    })
}

fn compare(
    metric: &Metric,
    version: &str,
    a: &Statistic,
    b: &Statistic,
    sequential: bool,
) -> Comparison {
    let test = |effect: &stats::Effect| {
        if sequential {
            stats::sequential(effect)
        } else {
            stats::fixed(effect)
        }
    };
    let absolute = stats::effect(a, b, false);
    let relative = stats::effect(a, b, true);
    let problem = absolute
        .as_ref()
        .err()
        .or(relative.as_ref().err())
        .map(|why| why.describe().to_string());
    let bayesian = relative
        .as_ref()
        .or(absolute.as_ref())
        .ok()
        .map(|effect| stats::bayesian(effect, metric.higher_is_better));
    Comparison {
        metric: metric.name.clone(),
        version: version.to_string(),
        control_mean: a.mean,
        mean: b.mean,
        absolute: absolute.as_ref().ok().map(test),
        relative: relative.as_ref().ok().map(test),
        bayesian,
        adjusted_p_value: None,
        outcome: Outcome::Inconclusive,
        problem,
    }
}

fn sample_ratio(units: &[u64], split: &[f64]) -> SampleRatio {
    let enough_traffic = units
        .iter()
        .zip(split)
        .filter(|(_, weight)| **weight > 0.0)
        .all(|(units, _)| *units >= SRM_MIN_UNITS);
    let p_value = if enough_traffic {
        stats::sample_ratio_p(units, split)
    } else {
        None
    };
    SampleRatio {
        enough_traffic,
        p_value,
        mismatch: p_value.is_some_and(|p| p < SRM_THRESHOLD),
    }
}

fn arm_summaries<'a>(
    versions: impl Iterator<Item = &'a String>,
    units: &[u64],
    split: &[f64],
) -> Vec<ArmSummary> {
    let total = units.iter().sum::<u64>() as f64;
    let weight_total: f64 = split.iter().filter(|w| **w > 0.0).sum();
    versions
        .zip(units.iter().zip(split))
        .map(|(version, (units, weight))| ArmSummary {
            version: version.clone(),
            units: *units,
            observed_share: if total > 0.0 {
                *units as f64 / total
            } else {
                0.0
            },
            expected_share: if weight_total > 0.0 {
                weight.max(0.0) / weight_total
            } else {
                0.0
            },
        })
        .collect()
}

/// A share as a signed percentage: `+12.3 %`.
fn percent(x: f64) -> String {
    format!("{:+.1} %", x * 100.0)
}

/// A metric value, short.
fn number(x: f64) -> String {
    if x != 0.0 && x.abs() < 0.01 {
        format!("{x:.2e}")
    } else {
        format!("{x:.3}")
    }
}

/// A p-value, short.
fn p_text(p: f64) -> String {
    if p < 0.0001 {
        "p < 0.0001".to_string()
    } else {
        format!("p = {p:.4}")
    }
}

/// The numbers behind one comparison, one line.
fn describe(c: &Comparison, sequential: bool) -> String {
    let mut line = format!(
        "{} vs control on {}: {} vs {}",
        c.version,
        c.metric,
        number(c.mean),
        number(c.control_mean)
    );
    if let Some(relative) = &c.relative {
        line.push_str(&format!(
            ", {} (95 % {} {} to {})",
            percent(relative.effect),
            if sequential { "CS" } else { "CI" },
            percent(relative.ci_lower),
            percent(relative.ci_upper)
        ));
    } else if let Some(absolute) = &c.absolute {
        line.push_str(&format!(
            ", {:+} (95 % CI {} to {})",
            number(absolute.effect),
            number(absolute.ci_lower),
            number(absolute.ci_upper)
        ));
    }
    if let Some(p) = c.adjusted_p_value {
        line.push_str(&format!(", {}", p_text(p)));
    }
    if let Some(bayes) = &c.bayesian {
        let chance = bayes.chance_to_win * 100.0;
        let chance = if chance > 99.9 {
            "> 99.9 %".to_string()
        } else if chance < 0.1 {
            "< 0.1 %".to_string()
        } else {
            format!("{chance:.1} %")
        };
        line.push_str(&format!(", chance to beat control {chance}"));
    }
    if let Some(problem) = &c.problem {
        line.push_str(&format!(" ({problem})"));
    }
    line
}

fn verdict(
    input: &AnalysisInput,
    arms: &[ArmSummary],
    sample_ratio: &SampleRatio,
    comparisons: &[Comparison],
) -> Verdict {
    let d = &input.definition;
    let mut reasons = Vec::new();
    if input.multi_exposed > 0 {
        reasons.push(format!(
            "{} units saw more than one variation and are left out",
            input.multi_exposed
        ));
    }
    if !sample_ratio.enough_traffic {
        reasons.push(format!(
            "not enough traffic for the sample-ratio check (fewer than {SRM_MIN_UNITS} units in a variation)"
        ));
    }
    let split_line = arms
        .iter()
        .map(|arm| {
            format!(
                "{} {} units ({:.1} %, expected {:.1} %)",
                arm.version,
                arm.units,
                arm.observed_share * 100.0,
                arm.expected_share * 100.0
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    if sample_ratio.mismatch {
        reasons.push(split_line);
        reasons.push(format!(
            "sample-ratio check {} < {SRM_THRESHOLD}: the split or the logging is broken",
            p_text(sample_ratio.p_value.unwrap_or(0.0))
        ));
        return Verdict {
            kind: VerdictKind::SampleRatioMismatch,
            headline: "sample ratio mismatch — do not trust".to_string(),
            reasons,
        };
    }
    let short: Vec<&ArmSummary> = arms
        .iter()
        .filter(|arm| arm.expected_share > 0.0 && arm.units < d.minimum_sample_size)
        .collect();
    if !short.is_empty() {
        for arm in short {
            reasons.push(format!(
                "{} has {} of the {} units it needs",
                arm.version, arm.units, d.minimum_sample_size
            ));
        }
        return Verdict {
            kind: VerdictKind::NotEnoughData,
            headline: "not enough data".to_string(),
            reasons,
        };
    }
    let mut findings = Vec::new();
    let (mut wins, mut losses) = (false, false);
    for c in comparisons {
        let word = match c.outcome {
            Outcome::Better => "wins",
            Outcome::Worse => "loses",
            Outcome::Inconclusive => continue,
        };
        wins |= c.outcome == Outcome::Better;
        losses |= c.outcome == Outcome::Worse;
        findings.push(format!("{} {word} on {}", c.version, c.metric));
    }
    reasons.extend(comparisons.iter().map(|c| describe(c, d.sequential)));
    let kind = match (wins, losses) {
        (false, false) => VerdictKind::NoSignificantDifference,
        (true, false) => VerdictKind::Wins,
        (false, true) => VerdictKind::Loses,
        (true, true) => VerdictKind::Mixed,
    };
    let headline = if findings.is_empty() {
        "no significant difference".to_string()
    } else {
        findings.join("; ")
    };
    Verdict {
        kind,
        headline,
        reasons,
    }
}
