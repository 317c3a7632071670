//! The experiments' rules, assignment and analysis on known cases, and the analysis's error
//! rates on simulated A/A experiments.

use rand::SeedableRng;
use rand::rngs::StdRng;
use statrs::distribution::Normal;

use super::stats::{self, Statistic};
use super::*;
use crate::types::{
    AnalysisInput, Arm, Correction, MetricSums, Namespace, Outcome, Sums, VerdictKind,
};

fn definition() -> Definition {
    Definition {
        test_id: "ranker-v2".into(),
        test_name: "New ranker".into(),
        start_ms: 1_000,
        end_ms: 2_000,
        algorithm_versions: vec!["v1".into(), "v2".into()],
        traffic_split: vec![("v1".into(), 0.5), ("v2".into(), 0.5)],
        coverage: 1.0,
        seed: "ranker-v2".into(),
        hash_version: 2,
        success_metrics: vec!["decisions_per_unit".into()],
        minimum_sample_size: 150,
        namespace: None,
        sequential: false,
    }
}

/// A change to a definition that breaks one rule.
type Change = Box<dyn Fn(&mut Definition)>;

fn field_of(error: &AppError) -> Option<String> {
    match &error.kind {
        ErrorKind::Validation(context) => context.field.clone(),
        _ => None,
    }
}

#[test]
fn definitions_break_rules_with_the_field_named() {
    assert!(check(&definition()).is_ok());
    let cases: Vec<(&str, Change)> = vec![
        ("test_id", Box::new(|d| d.test_id = "../../etc".into())),
        ("test_id", Box::new(|d| d.test_id = ".".into())),
        ("test_id", Box::new(|d| d.test_id = "..".into())),
        ("test_id", Box::new(|d| d.test_id = "-".into())),
        ("test_id", Box::new(|d| d.test_id = "-rf".into())),
        ("test_name", Box::new(|d| d.test_name = " ".into())),
        ("end_date", Box::new(|d| d.end_ms = d.start_ms)),
        (
            "algorithm_versions",
            Box::new(|d| {
                d.algorithm_versions = vec!["v1".into()];
                d.traffic_split = vec![("v1".into(), 1.0)];
            }),
        ),
        (
            "algorithm_versions",
            Box::new(|d| d.algorithm_versions = vec!["v1".into(), "v1".into()]),
        ),
        (
            "traffic_split",
            Box::new(|d| d.traffic_split = vec![("v1".into(), 0.5), ("v2".into(), 0.6)]),
        ),
        (
            "traffic_split",
            Box::new(|d| d.traffic_split = vec![("v1".into(), 0.5), ("v3".into(), 0.5)]),
        ),
        (
            "traffic_split",
            Box::new(|d| d.traffic_split = vec![("v1".into(), f64::NAN), ("v2".into(), 1.0)]),
        ),
        (
            "traffic_split",
            Box::new(|d| d.traffic_split = vec![("v1".into(), -0.5), ("v2".into(), 1.5)]),
        ),
        ("coverage", Box::new(|d| d.coverage = 1.5)),
        ("coverage", Box::new(|d| d.coverage = f64::NAN)),
        ("hash_version", Box::new(|d| d.hash_version = 3)),
        (
            "success_metrics",
            Box::new(|d| d.success_metrics = vec!["revenue".into()]),
        ),
        ("success_metrics", Box::new(|d| d.success_metrics.clear())),
        (
            "minimum_sample_size",
            Box::new(|d| d.minimum_sample_size = 1),
        ),
        (
            "namespace",
            Box::new(|d| {
                d.namespace = Some(Namespace {
                    id: "ranking".into(),
                    start: 0.6,
                    end: 0.4,
                })
            }),
        ),
    ];
    for (field, change) in cases {
        let mut d = definition();
        change(&mut d);
        let error = check(&d).expect_err(field);
        assert_eq!(error.error_code, "VALIDATION_ERROR");
        assert_eq!(
            field_of(&error).as_deref(),
            Some(field),
            "{}",
            error.message
        );
    }
}

#[test]
fn assignment_follows_dates_namespace_and_coverage() {
    let d = definition();
    let at = |unit: &str, now: i64| assign(&d, unit, now).expect("valid definition");
    assert_eq!(at("user-1", 999).reason, AssignmentReason::NotStarted);
    assert_eq!(at("user-1", 2_000).reason, AssignmentReason::Ended);
    assert_eq!(at("", 1_500).reason, AssignmentReason::NoUnit);
    // In the window: the variation of the unit's bucket, as the SDK's functions give it.
    for unit in ["user-1", "user-2", "alice", "ñandú", "42"] {
        let got = at(unit, 1_500);
        let n = hash::hash(&d.seed, unit, 2).expect("version 2");
        let expected = choose_variation(n, &bucket_ranges(2, 1.0, Some(&[0.5, 0.5])));
        assert!(got.in_experiment);
        assert_eq!(i64::from(got.variation), i64::from(expected));
        assert_eq!(got.version, d.algorithm_versions[got.variation as usize]);
        assert_eq!(got.bucket, Some(n));
    }
    // No coverage: every unit gets the control, uncounted.
    let none = Definition {
        coverage: 0.0,
        ..definition()
    };
    let got = assign(&none, "user-1", 1_500).expect("valid");
    assert_eq!(
        (got.variation, got.in_experiment, got.reason),
        (0, false, AssignmentReason::NotInCoverage)
    );
    // An empty namespace slice would be invalid; a thin one leaves most units out.
    let thin = Definition {
        namespace: Some(Namespace {
            id: "ranking".into(),
            start: 0.0,
            end: 0.001,
        }),
        ..definition()
    };
    let outside = (0..100)
        .filter(|i| {
            assign(&thin, &format!("user-{i}"), 1_500)
                .is_ok_and(|a| a.reason == AssignmentReason::NotInNamespace)
        })
        .count();
    assert!(outside >= 95, "{outside}");
    // A broken definition is an error, not a silent control.
    let broken = Definition {
        hash_version: 9,
        ..definition()
    };
    assert!(assign(&broken, "user-1", 1_500).is_err());
}

#[test]
fn the_split_is_honoured_over_many_units() {
    let d = Definition {
        traffic_split: vec![("v1".into(), 0.2), ("v2".into(), 0.8)],
        ..definition()
    };
    let treated = (0..20_000)
        .filter(|i| assign(&d, &format!("u{i}"), 1_500).is_ok_and(|a| a.variation == 1))
        .count();
    assert!((15_600..=16_400).contains(&treated), "{treated}");
}

fn mean_sums(sum: f64, sum_squares: f64) -> MetricSums {
    MetricSums {
        numerator: Sums { sum, sum_squares },
        denominator: None,
        sum_products: 0.0,
    }
}

fn close(actual: f64, expected: f64, decimals: i32) {
    let tolerance = 0.5 * 10f64.powi(-decimals) + 1e-12;
    assert!(
        (actual - expected).abs() <= tolerance,
        "{actual} is not {expected} to {decimals} places"
    );
}

fn stat(n: u64, sum: f64, sum_squares: f64) -> Statistic {
    stats::mean_statistic(n, &Sums { sum, sum_squares })
}

#[test]
fn sequential_matches_gbstats_with_other_tuning() {
    // test_gbstats.py: count metric, sequential, tuning 600: p 0.892332229, CI lower −0.233322085.
    let a = stat(100, 270.0, 848.79);
    let b = stat(120, 300.0, 869.0);
    let effect = stats::effect(&a, &b, true).expect("estimable");
    let estimate = stats::sequential_tuned(&effect, 600.0);
    close(estimate.p_value, 0.892332229, 9);
    close(estimate.ci_lower, -0.233322085, 9);
    // test_tests.py TestSequentialTTest, tuning 1000: effect 0.50336, CI (−0.55844, 1.56516).
    let a = stat(3000, 1396.87, 52377.9767);
    let b = stat(3461, 2422.7, 134698.29);
    let effect = stats::effect(&a, &b, true).expect("estimable");
    let estimate = stats::sequential_tuned(&effect, 1000.0);
    close(estimate.effect, 0.50336, 5);
    close(estimate.standard_error, 0.33341, 5);
    close(estimate.ci_lower, -0.55844, 5);
    close(estimate.ci_upper, 1.56516, 5);
    close(estimate.p_value, 1.0, 5);
}

#[test]
fn sequential_intervals_are_wider_than_fixed_ones() {
    let a = stat(3000, 1396.87, 52377.9767);
    let b = stat(3461, 2422.7, 134698.29);
    let effect = stats::effect(&a, &b, false).expect("estimable");
    let (fixed, sequential) = (stats::fixed(&effect), stats::sequential(&effect));
    assert!(sequential.ci_lower < fixed.ci_lower && sequential.ci_upper > fixed.ci_upper);
    assert!(sequential.p_value >= fixed.p_value);
}

fn two_arm_input(d: Definition, arms: [(u64, f64, f64); 2]) -> AnalysisInput {
    AnalysisInput {
        definition: d,
        arms: arms
            .iter()
            .map(|&(units, sum, sum_squares)| Arm {
                units,
                metrics: vec![mean_sums(sum, sum_squares)],
            })
            .collect(),
        multi_exposed: 0,
        correction: Correction::None,
    }
}

#[test]
fn verdicts() {
    // A clear win with enough units.
    let input = two_arm_input(definition(), [(400, 400.0, 800.0), (400, 600.0, 1_300.0)]);
    let analysis = analyze(&input).expect("valid");
    assert_eq!(analysis.verdict.kind, VerdictKind::Wins);
    assert_eq!(analysis.verdict.headline, "v2 wins on decisions_per_unit");
    assert_eq!(analysis.comparisons[0].outcome, Outcome::Better);
    // The same numbers on a metric where less is better lose.
    let mut d = definition();
    d.success_metrics = vec!["processing_time_ms".into()];
    let ratio = |sum: f64, sum_squares: f64, decisions: f64| MetricSums {
        numerator: Sums { sum, sum_squares },
        denominator: Some(Sums {
            sum: decisions,
            sum_squares: decisions * decisions / 400.0,
        }),
        sum_products: sum * decisions / 400.0,
    };
    let slow = AnalysisInput {
        definition: d,
        arms: vec![
            Arm {
                units: 400,
                metrics: vec![ratio(40_000.0, 4_400_000.0, 400.0)],
            },
            Arm {
                units: 400,
                metrics: vec![ratio(48_000.0, 6_200_000.0, 400.0)],
            },
        ],
        multi_exposed: 3,
        correction: Correction::None,
    };
    let analysis = analyze(&slow).expect("valid");
    assert_eq!(
        analysis.verdict.kind,
        VerdictKind::Loses,
        "{:?}",
        analysis.verdict
    );
    assert_eq!(analysis.verdict.headline, "v2 loses on processing_time_ms");
    assert!(analysis.verdict.reasons[0].contains("3 units"));
    // Too few units: not enough data, whatever the effect.
    let small = two_arm_input(definition(), [(100, 100.0, 200.0), (100, 150.0, 325.0)]);
    let analysis = analyze(&small).expect("valid");
    assert_eq!(analysis.verdict.kind, VerdictKind::NotEnoughData);
    assert!(analysis.verdict.reasons[0].contains("100 of the 150"));
    // A broken split: the mismatch comes first.
    let skewed = two_arm_input(
        definition(),
        [(1_000, 1_000.0, 2_000.0), (1_200, 1_200.0, 2_400.0)],
    );
    let analysis = analyze(&skewed).expect("valid");
    assert_eq!(analysis.verdict.kind, VerdictKind::SampleRatioMismatch);
    assert_eq!(
        analysis.verdict.headline,
        "sample ratio mismatch — do not trust"
    );
    assert!(analysis.sample_ratio.mismatch);
    // Under 8 units a variation: no sample-ratio test.
    let tiny = two_arm_input(definition(), [(7, 7.0, 14.0), (30, 30.0, 60.0)]);
    let analysis = analyze(&tiny).expect("valid");
    assert!(!analysis.sample_ratio.enough_traffic);
    assert_eq!(analysis.sample_ratio.p_value, None);
}

#[test]
fn bad_sums_are_refused() {
    let nan = two_arm_input(
        definition(),
        [(400, f64::NAN, 800.0), (400, 600.0, 1_300.0)],
    );
    assert!(analyze(&nan).is_err());
    let negative = two_arm_input(definition(), [(400, 400.0, -1.0), (400, 600.0, 1_300.0)]);
    assert!(analyze(&negative).is_err());
    let mut short = two_arm_input(definition(), [(400, 400.0, 800.0), (400, 600.0, 1_300.0)]);
    short.arms.pop();
    assert!(analyze(&short).is_err());
    let mut no_denominator = two_arm_input(definition(), [(4, 4.0, 8.0), (4, 6.0, 13.0)]);
    no_denominator.definition.success_metrics = vec!["like_rate".into()];
    assert!(analyze(&no_denominator).is_err());
}

#[test]
fn corrections_adjust_across_metrics_and_variations() {
    let p = [0.01, 0.04, 0.03, 0.005];
    assert_eq!(stats::adjust(&p, Correction::None), p.to_vec());
    let holm = stats::adjust(&p, Correction::HolmBonferroni);
    let bh = stats::adjust(&p, Correction::BenjaminiHochberg);
    for i in 0..p.len() {
        assert!(holm[i] >= bh[i] && bh[i] >= p[i]);
    }
}

/// One simulated A/A experiment over `days`: each day `per_day` new units per variation, each
/// with a normally distributed metric. Returns (significant at the end, significant at any
/// daily look) for the fixed test, and significant at any look for the sequential one.
fn aa_experiment(rng: &mut StdRng, days: usize, per_day: usize) -> (bool, bool, bool) {
    use rand::distr::Distribution;
    let normal = Normal::new(3.0, 2.0).expect("normal");
    let mut sums = [[0.0f64; 2]; 2];
    let mut units = 0u64;
    let (mut fixed_any, mut sequential_any, mut fixed_end) = (false, false, false);
    for day in 0..days {
        for arm in &mut sums {
            for _ in 0..per_day {
                let x: f64 = normal.sample(rng);
                arm[0] += x;
                arm[1] += x * x;
            }
        }
        units += per_day as u64;
        let a = stat(units, sums[0][0], sums[0][1]);
        let b = stat(units, sums[1][0], sums[1][1]);
        let effect = stats::effect(&a, &b, false).expect("estimable");
        let fixed = stats::fixed(&effect).p_value < stats::ALPHA;
        fixed_any |= fixed;
        sequential_any |= stats::sequential(&effect).p_value < stats::ALPHA;
        if day + 1 == days {
            fixed_end = fixed;
        }
    }
    (fixed_end, fixed_any, sequential_any)
}

#[test]
fn aa_simulation_error_rates() {
    const EXPERIMENTS: usize = 2_000;
    let mut rng = StdRng::seed_from_u64(20_261_126);
    let (mut fixed_end, mut fixed_peeking, mut sequential_peeking) = (0, 0, 0);
    for _ in 0..EXPERIMENTS {
        let (end, any, sequential) = aa_experiment(&mut rng, 30, 20);
        fixed_end += usize::from(end);
        fixed_peeking += usize::from(any);
        sequential_peeking += usize::from(sequential);
    }
    let rate = |count: usize| count as f64 / EXPERIMENTS as f64;
    println!(
        "A/A, {EXPERIMENTS} experiments: fixed test once {:.4}, fixed test peeking daily for 30 days {:.4}, sequential peeking daily {:.4}",
        rate(fixed_end),
        rate(fixed_peeking),
        rate(sequential_peeking)
    );
    assert!(
        (0.03..=0.07).contains(&rate(fixed_end)),
        "{}",
        rate(fixed_end)
    );
    assert!(
        rate(sequential_peeking) <= 0.05,
        "{}",
        rate(sequential_peeking)
    );
    assert!(rate(fixed_peeking) > 0.05, "{}", rate(fixed_peeking));
}
