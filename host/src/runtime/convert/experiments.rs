//! Experiments between the host's types and the WIT records.

use super::super::bindings::wit::experiments as wit;
use crate::types::experiments::{
    Analysis, Arm, ArmSummary, AssignmentReason, Bayesian, Comparison, Correction, Definition,
    Estimate, Metric, MetricSums, Namespace, Outcome, Quantity, SampleRatio, Sums, Verdict,
    VerdictKind,
};

impl From<&Namespace> for wit::Namespace {
    fn from(namespace: &Namespace) -> Self {
        Self {
            id: namespace.id.clone(),
            start: namespace.start,
            end: namespace.end,
        }
    }
}

impl From<&Definition> for wit::Definition {
    fn from(d: &Definition) -> Self {
        Self {
            test_id: d.test_id.clone(),
            test_name: d.test_name.clone(),
            start_ms: d.start_date.timestamp_millis(),
            end_ms: d.end_date.timestamp_millis(),
            algorithm_versions: d.algorithm_versions.clone(),
            traffic_split: d
                .traffic_split
                .iter()
                .map(|(version, weight)| (version.clone(), *weight))
                .collect(),
            coverage: d.coverage,
            seed: d.seed().to_string(),
            hash_version: d.hash_version,
            success_metrics: d.success_metrics.clone(),
            minimum_sample_size: d.minimum_sample_size,
            namespace: d.namespace.as_ref().map(Into::into),
            sequential: d.sequential,
        }
    }
}

impl From<Correction> for wit::Correction {
    fn from(correction: Correction) -> Self {
        match correction {
            Correction::None => Self::None,
            Correction::HolmBonferroni => Self::HolmBonferroni,
            Correction::BenjaminiHochberg => Self::BenjaminiHochberg,
        }
    }
}

impl From<wit::Correction> for Correction {
    fn from(correction: wit::Correction) -> Self {
        match correction {
            wit::Correction::None => Self::None,
            wit::Correction::HolmBonferroni => Self::HolmBonferroni,
            wit::Correction::BenjaminiHochberg => Self::BenjaminiHochberg,
        }
    }
}

impl From<wit::AssignmentReason> for AssignmentReason {
    fn from(reason: wit::AssignmentReason) -> Self {
        match reason {
            wit::AssignmentReason::Assigned => Self::Assigned,
            wit::AssignmentReason::NoUnit => Self::NoUnit,
            wit::AssignmentReason::NotStarted => Self::NotStarted,
            wit::AssignmentReason::Ended => Self::Ended,
            wit::AssignmentReason::NotInNamespace => Self::NotInNamespace,
            wit::AssignmentReason::NotInCoverage => Self::NotInCoverage,
        }
    }
}

impl From<wit::Quantity> for Quantity {
    fn from(quantity: wit::Quantity) -> Self {
        match quantity {
            wit::Quantity::Decisions => Self::Decisions,
            wit::Quantity::ProcessingMs => Self::ProcessingMs,
            wit::Quantity::Likes => Self::Likes,
            wit::Quantity::Dislikes => Self::Dislikes,
            wit::Quantity::Skips => Self::Skips,
            wit::Quantity::Uses => Self::Uses,
            wit::Quantity::Ratings => Self::Ratings,
            wit::Quantity::RatingSum => Self::RatingSum,
            wit::Quantity::Satisfied => Self::Satisfied,
            wit::Quantity::Judged => Self::Judged,
        }
    }
}

impl From<wit::Metric> for Metric {
    fn from(metric: wit::Metric) -> Self {
        Self {
            name: metric.name,
            description: metric.description,
            numerator: metric.numerator.into(),
            denominator: metric.denominator.map(Into::into),
            higher_is_better: metric.higher_is_better,
        }
    }
}

fn sums(sums: &Sums) -> wit::Sums {
    wit::Sums {
        sum: sums.sum,
        sum_squares: sums.sum_squares,
    }
}

impl From<&MetricSums> for wit::MetricSums {
    fn from(metric: &MetricSums) -> Self {
        Self {
            numerator: sums(&metric.numerator),
            denominator: metric.denominator.as_ref().map(sums),
            sum_products: metric.sum_products,
        }
    }
}

impl From<&Arm> for wit::Arm {
    fn from(arm: &Arm) -> Self {
        Self {
            units: arm.units,
            metrics: arm.metrics.iter().map(Into::into).collect(),
        }
    }
}

impl From<wit::Estimate> for Estimate {
    fn from(e: wit::Estimate) -> Self {
        Self {
            effect: e.effect,
            standard_error: e.standard_error,
            ci_lower: e.ci_lower,
            ci_upper: e.ci_upper,
            p_value: e.p_value,
            degrees_of_freedom: e.degrees_of_freedom,
        }
    }
}

impl From<wit::Comparison> for Comparison {
    fn from(c: wit::Comparison) -> Self {
        Self {
            metric: c.metric,
            version: c.version,
            control_mean: c.control_mean,
            mean: c.mean,
            absolute: c.absolute.map(Into::into),
            relative: c.relative.map(Into::into),
            bayesian: c.bayesian.map(|b| Bayesian {
                chance_to_win: b.chance_to_win,
                ci_lower: b.ci_lower,
                ci_upper: b.ci_upper,
            }),
            adjusted_p_value: c.adjusted_p_value,
            outcome: match c.outcome {
                wit::Outcome::Better => Outcome::Better,
                wit::Outcome::Worse => Outcome::Worse,
                wit::Outcome::Inconclusive => Outcome::Inconclusive,
            },
            problem: c.problem,
        }
    }
}

impl From<wit::Analysis> for Analysis {
    fn from(a: wit::Analysis) -> Self {
        Self {
            test_id: a.test_id,
            sequential: a.sequential,
            correction: a.correction.into(),
            arms: a
                .arms
                .into_iter()
                .map(|arm| ArmSummary {
                    version: arm.version,
                    units: arm.units,
                    observed_share: arm.observed_share,
                    expected_share: arm.expected_share,
                })
                .collect(),
            multi_exposed: a.multi_exposed,
            sample_ratio: SampleRatio {
                enough_traffic: a.sample_ratio.enough_traffic,
                p_value: a.sample_ratio.p_value,
                mismatch: a.sample_ratio.mismatch,
            },
            comparisons: a.comparisons.into_iter().map(Into::into).collect(),
            verdict: Verdict {
                kind: match a.verdict.kind {
                    wit::VerdictKind::NotEnoughData => VerdictKind::NotEnoughData,
                    wit::VerdictKind::SampleRatioMismatch => VerdictKind::SampleRatioMismatch,
                    wit::VerdictKind::NoSignificantDifference => {
                        VerdictKind::NoSignificantDifference
                    }
                    wit::VerdictKind::Wins => VerdictKind::Wins,
                    wit::VerdictKind::Loses => VerdictKind::Loses,
                    wit::VerdictKind::Mixed => VerdictKind::Mixed,
                },
                headline: a.verdict.headline,
                reasons: a.verdict.reasons,
            },
        }
    }
}
