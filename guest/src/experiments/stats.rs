//! The statistics of the analysis, with the formulas of GrowthBook's `gbstats` (frequentist
//! engine, flat-prior Bayesian summary, sample-ratio check) and the distributions of `statrs`.

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};

use crate::types::{Bayesian, Correction, Estimate, Sums};

/// The significance level: 95 % intervals.
pub const ALPHA: f64 = 0.05;
/// The confidence sequences' tuning parameter N*: the sample size at which they are tightest.
pub const SEQUENTIAL_TUNING: f64 = 5_000.0;
/// The sample-ratio p-value below which the split is broken.
pub const SRM_THRESHOLD: f64 = 0.001;
/// Units per variation below which the sample-ratio check does not run.
pub const SRM_MIN_UNITS: u64 = 8;

/// One variation's metric: units, the metric's value and the per-unit variance of that value
/// (the delta method's for a ratio).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Statistic {
    /// Units.
    pub n: f64,
    /// The metric's value: the mean, or Σ numerator / Σ denominator.
    pub mean: f64,
    /// Per-unit variance.
    pub variance: f64,
}

/// The sample variance from Σx and Σx² of `n` units (0 below 2 units).
fn sample_variance(n: f64, sums: &Sums) -> f64 {
    if n <= 1.0 {
        0.0
    } else {
        (sums.sum_squares - sums.sum * sums.sum / n) / (n - 1.0)
    }
}

/// A mean metric (`gbstats`' `SampleMeanStatistic`).
pub fn mean_statistic(n: u64, sums: &Sums) -> Statistic {
    let n = n as f64;
    Statistic {
        n,
        mean: if n > 0.0 { sums.sum / n } else { 0.0 },
        variance: sample_variance(n, sums),
    }
}

/// A ratio metric Σm / Σd (`gbstats`' `RatioStatistic`): its variance by the delta method,
/// var(m)/μd² + var(d)·μm²/μd⁴ − 2·cov(m, d)·μm/μd³.
pub fn ratio_statistic(n: u64, m: &Sums, d: &Sums, sum_products: f64) -> Statistic {
    let n = n as f64;
    if n <= 0.0 || d.sum == 0.0 {
        return Statistic {
            n,
            mean: 0.0,
            variance: 0.0,
        };
    }
    let (mean_m, mean_d) = (m.sum / n, d.sum / n);
    let covariance = if n <= 1.0 {
        0.0
    } else {
        (sum_products - m.sum * d.sum / n) / (n - 1.0)
    };
    let variance = sample_variance(n, m) / mean_d.powi(2)
        + sample_variance(n, d) * mean_m.powi(2) / mean_d.powi(4)
        - 2.0 * covariance * mean_m / mean_d.powi(3);
    Statistic {
        n,
        mean: m.sum / d.sum,
        variance,
    }
}

/// Why an effect cannot be estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unestimable {
    /// A variation has fewer than 2 units.
    TooFewUnits,
    /// The effect's variance is 0 (or not a number).
    NoVariance,
    /// The control's mean is 0: no relative effect.
    ZeroControl,
    /// A ratio metric's denominator sums to 0 in a variation (no decisions, no ratings…).
    NoDenominator,
}

impl Unestimable {
    /// The reason, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::TooFewUnits => "a variation has fewer than 2 units",
            Self::NoVariance => "the metric does not vary",
            Self::ZeroControl => "the control's value is 0, so there is no relative effect",
            Self::NoDenominator => "a variation has nothing to divide by (its denominator is 0)",
        }
    }
}

/// An effect and the variance of its estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effect {
    /// The point estimate.
    pub value: f64,
    /// The variance of the estimate.
    pub variance: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub dof: f64,
    /// Units in both variations.
    pub n: f64,
}

/// The effect of `b` against the control `a`: b − a, or (b − a)/|a| with the delta method's
/// variance var(b)/a² + var(a)·b²/a⁴ (`gbstats`' `frequentist_diff` and
/// `frequentist_variance`). As in `gbstats`, a variation whose metric does not vary gives no
/// estimate.
pub fn effect(a: &Statistic, b: &Statistic, relative: bool) -> Result<Effect, Unestimable> {
    if a.n < 2.0 || b.n < 2.0 {
        return Err(Unestimable::TooFewUnits);
    }
    if !(a.variance > 0.0 && b.variance > 0.0) {
        return Err(Unestimable::NoVariance);
    }
    let (va, vb) = (a.variance / a.n, b.variance / b.n);
    let (value, variance) = if relative {
        if a.mean == 0.0 {
            return Err(Unestimable::ZeroControl);
        }
        (
            (b.mean - a.mean) / a.mean.abs(),
            vb / a.mean.powi(2) + va * b.mean.powi(2) / a.mean.powi(4),
        )
    } else {
        (b.mean - a.mean, va + vb)
    };
    if !(variance > 0.0 && variance.is_finite() && value.is_finite()) {
        return Err(Unestimable::NoVariance);
    }
    let dof = (va + vb).powi(2) / (va.powi(2) / (a.n - 1.0) + vb.powi(2) / (b.n - 1.0));
    Ok(Effect {
        value,
        variance,
        dof,
        n: a.n + b.n,
    })
}

fn students_t(dof: f64) -> Option<StudentsT> {
    StudentsT::new(0.0, 1.0, dof).ok()
}

fn standard_normal() -> Normal {
    Normal::standard()
}

/// Welch's t-test: the 95 % interval and two-sided p-value of a fixed-horizon test.
pub fn fixed(effect: &Effect) -> Estimate {
    let se = effect.variance.sqrt();
    let (p_value, quantile) = match students_t(effect.dof) {
        Some(t) => (
            (2.0 * t.sf((effect.value / se).abs())).min(1.0),
            t.inverse_cdf(1.0 - ALPHA / 2.0),
        ),
        None => (f64::NAN, f64::NAN),
    };
    Estimate {
        effect: effect.value,
        standard_error: se,
        ci_lower: effect.value - quantile * se,
        ci_upper: effect.value + quantile * se,
        p_value,
        degrees_of_freedom: effect.dof,
    }
}

/// The confidence sequences' ρ for N* and α (Waudby-Smith et al., eq. 161).
fn rho(tuning: f64) -> f64 {
    let log_alpha = -2.0 * ALPHA.ln();
    ((log_alpha + (log_alpha + 1.0).ln()) / tuning).sqrt()
}

/// The always-valid version of [`fixed`]: the asymptotic confidence sequence of
/// Waudby-Smith et al. (eq. 9) around the effect, tuned for N* = 5,000, and the p-value that
/// inverts it (eq. 155: the smallest α at which the sequence excludes 0).
pub fn sequential(effect: &Effect) -> Estimate {
    sequential_tuned(effect, SEQUENTIAL_TUNING)
}

/// [`sequential`] with another tuning parameter N*.
pub fn sequential_tuned(effect: &Effect, tuning: f64) -> Estimate {
    let n = effect.n;
    let rho2 = rho(tuning).powi(2);
    // The per-observation variance the sequence is written in.
    let s2 = effect.variance * n;
    let grow = n * rho2 + 1.0;
    let width = s2.sqrt() * ((2.0 * grow / (n * n * rho2)) * (grow.sqrt() / ALPHA).ln()).sqrt();
    let p_value =
        (grow.sqrt() * (-(n * n * rho2 * effect.value.powi(2)) / (2.0 * s2 * grow)).exp()).min(1.0);
    Estimate {
        effect: effect.value,
        standard_error: effect.variance.sqrt(),
        ci_lower: effect.value - width,
        ci_upper: effect.value + width,
        p_value,
        degrees_of_freedom: effect.dof,
    }
}

/// The flat-prior posterior of an effect: normal with its estimate and standard error. The
/// chance to win is the posterior mass on the good side of 0.
pub fn bayesian(effect: &Effect, higher_is_better: bool) -> Bayesian {
    let se = effect.variance.sqrt();
    let normal = standard_normal();
    let z = normal.inverse_cdf(1.0 - ALPHA / 2.0);
    let above = normal.cdf(effect.value / se);
    Bayesian {
        chance_to_win: if higher_is_better { above } else { 1.0 - above },
        ci_lower: effect.value - z * se,
        ci_upper: effect.value + z * se,
    }
}

/// The sample-ratio check's p-value: Pearson's chi-square of the units against the weights
/// (normalized over the positive ones), k − 1 degrees of freedom.
pub fn sample_ratio_p(units: &[u64], weights: &[f64]) -> Option<f64> {
    let kept: Vec<(f64, f64)> = units
        .iter()
        .zip(weights)
        .filter(|(_, weight)| **weight > 0.0)
        .map(|(units, weight)| (*units as f64, *weight))
        .collect();
    let total_weight: f64 = kept.iter().map(|(_, weight)| weight).sum();
    let total: f64 = kept.iter().map(|(units, _)| units).sum();
    if kept.len() < 2 || total <= 0.0 || !total_weight.is_finite() {
        return None;
    }
    let statistic: f64 = kept
        .iter()
        .map(|(observed, weight)| {
            let expected = weight / total_weight * total;
            (observed - expected).powi(2) / expected
        })
        .sum();
    let chi2 = ChiSquared::new((kept.len() - 1) as f64).ok()?;
    Some(chi2.sf(statistic))
}

/// `p_values` adjusted by `correction`, in their order (a NaN counts as 1).
pub fn adjust(p_values: &[f64], correction: Correction) -> Vec<f64> {
    let m = p_values.len();
    let clean = |p: f64| if p.is_nan() { 1.0 } else { p.clamp(0.0, 1.0) };
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| clean(p_values[i]).total_cmp(&clean(p_values[j])));
    let mut adjusted = p_values.iter().map(|&p| clean(p)).collect::<Vec<_>>();
    match correction {
        Correction::None => {}
        Correction::HolmBonferroni => {
            let mut running: f64 = 0.0;
            for (rank, &i) in order.iter().enumerate() {
                running = running.max(((m - rank) as f64 * adjusted[i]).min(1.0));
                adjusted[i] = running;
            }
        }
        Correction::BenjaminiHochberg => {
            let mut running: f64 = 1.0;
            for (rank, &i) in order.iter().enumerate().rev() {
                running = running.min((m as f64 * adjusted[i] / (rank + 1) as f64).min(1.0));
                adjusted[i] = running;
            }
        }
    }
    adjusted
}
