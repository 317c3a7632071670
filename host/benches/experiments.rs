//! The experiments' costs on SQLite: assignments per second (GrowthBook's algorithm run
//! natively, the same through the policy component, and the service, which also logs the
//! exposure), then the analysis of an experiment over a large store next to fetching every
//! unit's row to the client (what the SQL aggregation saves).
//!
//! Run through `bench/experiments.sh`. `UNITS` sets the exposed units (default 100,000), each
//! with 1 to 5 decisions and feedback on about a third of them; `ASSIGN` the assignments timed
//! (default 20,000); `KEEP_STORE=PATH` keeps the store.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use bachata_common::Policy;
use bachata_common::capabilities::store::experiments::PER_UNIT;
use bachata_common::config::{Database, MonitorSettings};
use bachata_common::experiments::{Correction, Definition, Experiments};
use bachata_common::monitor::{DecisionInput, FeedbackInput, Monitor};
use chrono::{Duration, Utc};

mod common;

use common::{Rng, env_usize};

fn definition() -> Definition {
    definition_of("ranker-v2")
}

fn definition_of(test_id: &str) -> Definition {
    let now = Utc::now();
    Definition::from_json(
        &serde_json::json!({
            "test_id": test_id,
            "test_name": "New ranker",
            "start_date": (now - Duration::days(10)).to_rfc3339(),
            "end_date": (now + Duration::days(20)).to_rfc3339(),
            "algorithm_versions": ["1.0", "2.0"],
            "traffic_split": {"1.0": 0.5, "2.0": 0.5},
            "success_metrics": ["like_rate", "user_satisfaction", "processing_time_ms", "decisions_per_unit"],
        })
        .to_string(),
    )
    .expect("a definition")
}

fn rate(count: usize, start: Instant) -> f64 {
    count as f64 / start.elapsed().as_secs_f64()
}

/// Resets the peak resident memory to the current one (Linux: `clear_refs` 5).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Resident memory now, in MiB (`VmRSS`).
fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}

/// Peak resident memory since the last reset, in MiB (`VmHWM`).
fn peak_mib() -> f64 {
    status_mib("VmHWM:")
}

/// A memory line of `/proc/self/status`, in MiB.
fn status_mib(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with(key))
                .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// The peer of the analysis: the same per-unit rows (the same SQL) fetched to the client and
/// the four metrics' sums computed there, as a client of a plain SQL store would.
fn fetch_every_unit(path: &Path, end_ms: i64) -> (usize, f64) {
    let connection = rusqlite::Connection::open(path).expect("open");
    let sql = format!(
        "{PER_UNIT} SELECT variation, decisions, processing_ms, likes, dislikes, skips, uses, \
         ratings, rating_sum FROM per_unit"
    );
    let mut statement = connection.prepare(&sql).expect("prepare");
    let rows: Vec<[f64; 9]> = statement
        .query_map(rusqlite::params!["ranker-v2", end_ms], |row| {
            let mut values = [0.0; 9];
            values[0] = row.get::<_, i64>(0)? as f64;
            for (i, value) in values.iter_mut().enumerate().skip(1) {
                *value = row.get(i)?;
            }
            Ok(values)
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    // Per variation, per metric: Σx, Σx², Σy, Σy², Σxy.
    let mut sums = [[[0.0f64; 5]; 4]; 2];
    for row in &rows {
        let [
            variation,
            decisions,
            processing,
            likes,
            dislikes,
            skips,
            uses,
            ratings,
            rating_sum,
        ] = *row;
        let satisfied = likes + uses + (rating_sum - ratings) / 4.0;
        let judged = likes + uses + dislikes + skips + ratings;
        let pairs = [
            (likes, decisions),
            (satisfied, judged),
            (processing, decisions),
            (decisions, 0.0),
        ];
        for (metric, (x, y)) in sums[usize::from(variation == 1.0)].iter_mut().zip(pairs) {
            for (total, add) in metric.iter_mut().zip([x, x * x, y, y * y, x * y]) {
                *total += add;
            }
        }
    }
    (rows.len(), sums[1][0][0] / sums[1][0][2])
}

fn main() {
    let units = env_usize("UNITS", 100_000);
    let assign = env_usize("ASSIGN", 20_000).min(units);
    let dir = tempfile::tempdir().expect("dir");
    // `KEEP_STORE=PATH` keeps the store there, for a look at its queries.
    let path = std::env::var_os("KEEP_STORE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("monitor.sqlite3"));
    let monitor = Arc::new(
        Monitor::open(&MonitorSettings {
            database: Database::new(path.display().to_string()),
            retention_days: 90,
        })
        .expect("open"),
    );
    let experiments = Experiments::new(Arc::clone(&monitor));
    let policy = Policy::embedded().expect("policy");
    experiments.create(&policy, definition()).expect("create");
    let d = experiments.get("ranker-v2").expect("get").definition;
    let wit_like = bachata_common_policy::types::Definition {
        test_id: d.test_id.clone(),
        test_name: d.test_name.clone(),
        start_ms: d.start_date.timestamp_millis(),
        end_ms: d.end_date.timestamp_millis(),
        algorithm_versions: d.algorithm_versions.clone(),
        traffic_split: d.traffic_split.clone().into_iter().collect(),
        coverage: d.coverage,
        seed: d.seed().to_string(),
        hash_version: d.hash_version,
        success_metrics: d.success_metrics.clone(),
        minimum_sample_size: d.minimum_sample_size,
        namespace: None,
        sequential: false,
    };
    let now = Utc::now();
    let names: Vec<String> = (0..units).map(|i| format!("user-{i:07}")).collect();

    println!("| {assign} assignments | per second | vs native |");
    println!("|---|---|---|");
    let start = Instant::now();
    for unit in &names[..assign] {
        let a = bachata_common_policy::experiments::assign(&wit_like, unit, now.timestamp_millis())
            .expect("assign");
        std::hint::black_box(a);
    }
    let native = rate(assign, start);
    let start = Instant::now();
    for unit in &names[..assign] {
        std::hint::black_box(
            policy
                .assign(&d, unit, now.timestamp_millis())
                .expect("assign"),
        );
    }
    let component = rate(assign, start);
    // One by one: a write transaction per unit.
    experiments
        .create(&policy, definition_of("one-by-one"))
        .expect("create");
    let exposed_at = now - Duration::days(5);
    let start = Instant::now();
    for unit in &names[..assign] {
        std::hint::black_box(
            experiments
                .assign_at(&policy, "one-by-one", unit, exposed_at)
                .expect("assign"),
        );
    }
    let service = rate(assign, start);
    // In batches of 10,000 (as the CLI and `POST …/assignments` do): every unit, the
    // exposures the analysis below reads.
    let start = Instant::now();
    let mut served = Vec::with_capacity(units);
    for batch in names.chunks(10_000) {
        let assigned = experiments
            .assign_many_at(&policy, "ranker-v2", batch, exposed_at)
            .expect("assign");
        served.extend(assigned.into_iter().map(|a| a.version));
    }
    let batched = rate(units, start);
    println!("| GrowthBook's algorithm, native Rust (the limit) | {native:.0} | 1.00× |");
    println!(
        "| `Policy::assign` (through the component) | {component:.0} | {:.2}× |",
        component / native
    );
    println!(
        "| `Experiments::assign` (component + exposure logged, one transaction each, SQLite) | {service:.0} | {:.2}× |",
        service / native
    );
    println!(
        "| `Experiments::assign_many`, batches of 10,000 (exposures in one transaction per batch) | {batched:.0} | {:.2}× |",
        batched / native
    );
    println!();

    // Traffic: 1 to 5 decisions per unit after its exposure, feedback on about a third.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut decisions, mut feedback) = (Vec::with_capacity(1000), Vec::with_capacity(1000));
    let (mut decision_count, mut feedback_count) = (0usize, 0usize);
    for (i, (unit, version)) in names.iter().zip(&served).enumerate() {
        for k in 0..=rng.below(5) {
            let id = format!("d-{i:07}-{k}");
            decisions.push(DecisionInput {
                decision_id: Some(id.clone()),
                timestamp: Some(exposed_at + Duration::minutes(1 + k as i64)),
                user_id: Some(unit.clone()),
                input_song: "Obsesión".into(),
                recommended_moves: vec!["basic".into(), "dip".into()],
                recommendation_scores: vec![0.9, 0.6],
                algorithm_version: Some(version.clone()),
                processing_time_ms: 30.0 + rng.below(40) as f64,
                ..Default::default()
            });
            decision_count += 1;
            if rng.below(3) == 0 {
                let kind = ["like", "use", "dislike", "skip", "rating"][rng.below(5) as usize];
                feedback.push(FeedbackInput {
                    decision_id: id,
                    feedback_type: kind.into(),
                    feedback_value: (kind == "rating").then(|| 1.0 + rng.below(5) as f64),
                    ..Default::default()
                });
                feedback_count += 1;
            }
            if decisions.len() >= 1000 {
                monitor
                    .log_decisions(&policy, std::mem::take(&mut decisions))
                    .expect("decisions");
                monitor
                    .log_feedbacks(&policy, std::mem::take(&mut feedback))
                    .expect("feedback");
            }
        }
    }
    if !decisions.is_empty() {
        monitor
            .log_decisions(&policy, decisions)
            .expect("decisions");
    }
    if !feedback.is_empty() {
        monitor.log_feedbacks(&policy, feedback).expect("feedback");
    }

    let _ = experiments.analyze(&policy, "ranker-v2", Some(Correction::None));
    reset_peak();
    let before = rss_mib();
    let times: Vec<f64> = (0..3)
        .map(|_| {
            let start = Instant::now();
            let analysis = experiments
                .analyze(&policy, "ranker-v2", None)
                .expect("analyze");
            assert_eq!(
                analysis.arms.iter().map(|arm| arm.units).sum::<u64>(),
                units as u64
            );
            start.elapsed().as_secs_f64()
        })
        .collect();
    let analyze_peak = peak_mib() - before;
    reset_peak();
    let before = rss_mib();
    let start = Instant::now();
    let (rows, _) = fetch_every_unit(&path, d.end_date.timestamp_millis());
    let peer = start.elapsed().as_secs_f64();
    let peer_peak = peak_mib() - before;
    let best = times.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "| analysis of {units} units, {decision_count} decisions, {feedback_count} feedback (SQLite, 4 metrics) | time | rows to the host | peak RSS growth |"
    );
    println!("|---|---|---|---|");
    println!(
        "| `Experiments::analyze` (per-unit sums in SQL, 4 metrics, the policy's statistics) | {best:.3} s | 2 | {analyze_peak:.1} MiB |"
    );
    println!(
        "| the same per-unit rows fetched to the client, the 4 metrics' sums computed there | {peer:.3} s | {rows} | {peer_peak:.1} MiB |"
    );
}
