//! The performance monitor's costs on SQLite: events per second stored through the library
//! and through the daemon's HTTP API (batches of 100), next to a bare batched `INSERT` of the
//! same rows into the same table (the limit); then the 30-day report over a large store.
//!
//! Run through `bench/monitor.sh`. `INGEST` sets the events per ingest run (default 200,000),
//! `DECISIONS` and `FEEDBACK` the size of the store the report reads (default 1,000,000 and
//! 300,000), `CLIENTS` the HTTP connections (default 4).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use bachata_common::Policy;
use bachata_common::config::{Database, MonitorSettings};
use bachata_common::monitor::{DecisionInput, Feature, FeedbackInput, Monitor};
use chrono::{DateTime, Utc};

const BATCH: usize = 100;
const MOVES: [&str; 12] = [
    "basic",
    "basic_step",
    "cross_body_lead",
    "ladyturn",
    "spin",
    "body_roll",
    "dip",
    "hammerlock",
    "shadow",
    "footwork",
    "arm_styling",
    "combination",
];

mod common;

use common::{Rng, env_usize};

/// The move at `rank` (0-based) of a decision whose list starts at `first`.
fn move_at(first: usize, rank: usize) -> &'static str {
    MOVES[(first + rank * 5) % MOVES.len()]
}

/// Decision `i`: five moves from `first`, scores, weights, features, a time in the last
/// `days` days.
fn decision(i: usize, first: usize, rng: &mut Rng, now: DateTime<Utc>, days: i64) -> DecisionInput {
    let moves: Vec<String> = (0..5)
        .map(|rank| move_at(first, rank).to_string())
        .collect();
    let scores = (0..5).map(|k| 0.95 - 0.1 * k as f64).collect();
    let age_ms = rng.below((days * 86_400_000).max(1) as u64) as i64;
    DecisionInput {
        decision_id: Some(format!("d-{i:09}")),
        timestamp: Some(now - chrono::Duration::milliseconds(age_ms)),
        user_id: Some(format!("user-{}", rng.below(10_000))),
        input_song: format!("song-{}", rng.below(5_000)),
        recommended_moves: moves,
        recommendation_scores: scores,
        algorithm_version: Some(if i.is_multiple_of(2) { "1.0" } else { "2.0" }.to_string()),
        weights_used: [
            ("tempo".to_string(), 0.4),
            ("energy".to_string(), 0.35),
            ("style".to_string(), 0.25),
        ]
        .into(),
        processing_time_ms: 5.0 + rng.below(20_000) as f64 / 100.0,
        song_features: [
            (
                "bpm".to_string(),
                Feature::Number(120.0 + rng.below(20) as f64),
            ),
            ("key".to_string(), Feature::Text("A minor".into())),
        ]
        .into(),
        experiment_id: None,
        variation: None,
    }
}

fn settings(path: &Path) -> MonitorSettings {
    MonitorSettings {
        database: Database::new(path.display().to_string()),
        retention_days: 3650,
    }
}

/// Events per second storing `events` through the library in batches of 100.
fn library_ingest(dir: &Path, events: &[DecisionInput]) -> f64 {
    let policy = bachata_common::Policy::shared().expect("policy");
    let monitor = Monitor::open(&settings(&dir.join("library.sqlite3"))).expect("open");
    // The caller owns its events (as after parsing them); the copies are made before the clock.
    let batches: Vec<Vec<DecisionInput>> = events.chunks(BATCH).map(<[_]>::to_vec).collect();
    let start = Instant::now();
    for batch in batches {
        monitor.log_decisions(policy, batch).expect("batch");
    }
    events.len() as f64 / start.elapsed().as_secs_f64()
}

/// Events per second the policy's event rules check (`events.check-decisions`, one call per
/// batch of 100), without storing them: the part of an ingest the component does.
fn rules_only(events: &[DecisionInput]) -> f64 {
    let policy = bachata_common::Policy::shared().expect("policy");
    let batches: Vec<Vec<DecisionInput>> = events.chunks(BATCH).map(<[_]>::to_vec).collect();
    let now = Utc::now();
    let start = Instant::now();
    for batch in batches {
        policy.check_decisions(batch, now, true).expect("valid");
    }
    events.len() as f64 / start.elapsed().as_secs_f64()
}

/// Events per second for a bare batched `INSERT` of the same rows (already serialized, no
/// checks, no per-day totals) into the same `decisions` table, same pragmas.
fn bare_ingest(dir: &Path, events: &[DecisionInput]) -> f64 {
    let path = dir.join("bare.sqlite3");
    // The schema as the monitor creates it; then only the decisions table is written.
    drop(Monitor::open(&settings(&path)).expect("schema"));
    let mut connection = rusqlite::Connection::open(&path).expect("open");
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .expect("sync");
    let rows: Vec<_> = events
        .iter()
        .map(|d| {
            let ts = d
                .timestamp
                .map(|t| t.timestamp_millis())
                .unwrap_or_default();
            (
                d.decision_id.clone().unwrap_or_default(),
                ts,
                ts.div_euclid(86_400_000),
                d.user_id.clone(),
                d.input_song.clone(),
                serde_json::to_string(&d.recommended_moves).unwrap_or_default(),
                serde_json::to_string(&d.recommendation_scores).unwrap_or_default(),
                d.recommended_moves.len() as i64,
                d.algorithm_version.clone().unwrap_or_default(),
                serde_json::to_string(&d.weights_used).unwrap_or_default(),
                d.processing_time_ms,
                serde_json::to_string(&d.song_features).unwrap_or_default(),
            )
        })
        .collect();
    let start = Instant::now();
    for batch in rows.chunks(BATCH) {
        let tx = connection.transaction().expect("tx");
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO decisions (decision_id, ts_ms, day, user_id, input_song, recommended_moves, \
                     recommendation_scores, move_count, algorithm_version, weights_used, processing_time_ms, \
                     song_features) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )
                .expect("prepare");
            for r in batch {
                insert
                    .execute(rusqlite::params![
                        r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11
                    ])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
    events.len() as f64 / start.elapsed().as_secs_f64()
}

/// A running daemon on a fresh data directory.
struct Daemon(std::process::Child, u16);

impl Daemon {
    fn start(dir: &Path) -> Self {
        let binary = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/bachata-common");
        let mut child = Command::new(binary)
            .arg("run")
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("BACHATA_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the daemon (cargo build --release first)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("line");
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        Self(child, port)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Posts `bodies` on one kept-alive connection; panics on anything but 201.
fn post_all(port: u16, bodies: &[String]) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    for body in bodies {
        write!(
            stream,
            "POST /v1/decisions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
        let mut status = String::new();
        reader.read_line(&mut status).expect("status");
        assert!(status.contains(" 201 "), "{status}");
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).expect("header");
            if header == "\r\n" {
                break;
            }
            if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut rest = vec![0; length];
        reader.read_exact(&mut rest).expect("body");
    }
}

/// Events per second through `POST /v1/decisions` with `clients` connections.
fn http_ingest(dir: &Path, events: &[DecisionInput], clients: usize) -> f64 {
    let daemon = Daemon::start(dir);
    let bodies: Vec<String> = events
        .chunks(BATCH)
        .map(|b| serde_json::to_string(b).expect("json"))
        .collect();
    let per = bodies.len().div_ceil(clients);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for part in bodies.chunks(per) {
            scope.spawn(|| post_all(daemon.1, part));
        }
    });
    events.len() as f64 / start.elapsed().as_secs_f64()
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let policy = bachata_common::Policy::shared().expect("policy");
    let ingest = env_usize("INGEST", 200_000);
    let decisions = env_usize("DECISIONS", 1_000_000);
    let feedback = env_usize("FEEDBACK", 300_000);
    let clients = env_usize("CLIENTS", 4);
    let now = Utc::now();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let events: Vec<DecisionInput> = (0..ingest)
        .map(|i| {
            let first = rng.below(MOVES.len() as u64) as usize;
            decision(i, first, &mut rng, now, 0)
        })
        .collect();

    println!(
        "| ingest, {ingest} decisions in batches of {BATCH} (SQLite, WAL) | events/s | vs bare INSERT |"
    );
    println!("|---|---|---|");
    let dir = tempfile::tempdir().expect("dir");
    let bare = median(
        (0..3)
            .map(|r| bare_ingest(&dir.path().join(format!("b{r}")).tap_mkdir(), &events))
            .collect(),
    );
    let library = median(
        (0..3)
            .map(|r| library_ingest(&dir.path().join(format!("l{r}")).tap_mkdir(), &events))
            .collect(),
    );
    let http = median(
        (0..3)
            .map(|r| {
                http_ingest(
                    &dir.path().join(format!("h{r}")).tap_mkdir(),
                    &events,
                    clients,
                )
            })
            .collect(),
    );
    let rules = median((0..3).map(|_| rules_only(&events)).collect());
    println!("| bare batched INSERT of the same rows (the limit) | {bare:.0} | 1.00× |");
    println!(
        "| library `Monitor::log_decisions` | {library:.0} | {:.2}× |",
        library / bare
    );
    println!(
        "| HTTP `POST /v1/decisions`, {clients} connections | {http:.0} | {:.2}× |",
        http / bare
    );
    println!(
        "| (the policy's event rules alone, `events.check-decisions` per batch, nothing stored) | {rules:.0} | |"
    );
    println!();

    // The report over a large store: decisions over 30 days, feedback on random decisions.
    // `KEEP_STORE=PATH` keeps the large store there, for a look at its queries.
    let path = std::env::var_os("KEEP_STORE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("large.sqlite3"));
    let monitor = Monitor::open(&settings(&path)).expect("open");
    let started = Instant::now();
    let mut batch = Vec::with_capacity(1000);
    let mut firsts = Vec::with_capacity(decisions);
    for i in 0..decisions {
        let first = rng.below(MOVES.len() as u64) as usize;
        firsts.push(first as u8);
        batch.push(decision(i, first, &mut rng, now, 29));
        if batch.len() == 1000 {
            monitor
                .log_decisions(policy, std::mem::take(&mut batch))
                .expect("decisions");
        }
    }
    if !batch.is_empty() {
        monitor.log_decisions(policy, batch).expect("decisions");
    }
    let kinds = ["like", "use", "dislike", "skip", "rating"];
    let mut batch = Vec::with_capacity(1000);
    for i in 0..feedback {
        let decision = rng.below(decisions as u64) as usize;
        let kind = kinds[rng.below(5) as usize];
        batch.push(FeedbackInput {
            feedback_id: Some(format!("f-{i:09}")),
            decision_id: format!("d-{decision:09}"),
            feedback_type: kind.into(),
            feedback_value: (kind == "rating").then(|| 1.0 + rng.below(5) as f64),
            // Half name one of the decision's five moves, half judge the decision as a whole.
            move_id: (rng.below(2) == 0)
                .then(|| move_at(firsts[decision] as usize, rng.below(5) as usize).to_string()),
            ..Default::default()
        });
        if batch.len() == 1000 {
            monitor
                .log_feedbacks(policy, std::mem::take(&mut batch))
                .expect("feedback");
        }
    }
    if !batch.is_empty() {
        monitor.log_feedbacks(policy, batch).expect("feedback");
    }
    let fill = started.elapsed();
    let policy = Policy::embedded().expect("policy");
    let _ = monitor.report(&policy, 30).expect("warm");
    let times: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            let report = monitor.report(&policy, 30).expect("report");
            assert_eq!(
                report.overall_metrics.total_recommendations,
                decisions as u64
            );
            start.elapsed().as_secs_f64()
        })
        .collect();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / (1 << 20) as f64;
    println!(
        "| report --days 30 over {decisions} decisions and {feedback} feedback events (SQLite, {size:.0} MiB) | time |"
    );
    println!("|---|---|");
    println!(
        "| store filled through the library | {:.1} s ({:.0} events/s) |",
        fill.as_secs_f64(),
        (decisions + feedback) as f64 / fill.as_secs_f64()
    );
    println!(
        "| `Monitor::report(30)`, median of 5 | {:.3} s |",
        median(times)
    );
    let binary = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/bachata-common");
    let cli: Vec<f64> = (0..3)
        .map(|_| {
            let start = Instant::now();
            let status = Command::new(&binary)
                .args(["monitor", "report", "--days", "30", "--json"])
                .env_clear()
                .env("MONITOR_DATABASE", &path)
                .stdout(Stdio::null())
                .status()
                .expect("cli");
            assert!(status.success());
            start.elapsed().as_secs_f64()
        })
        .collect();
    println!(
        "| `bachata-common monitor report --days 30 --json` (whole process), median of 3 | {:.3} s |",
        median(cli)
    );
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for std::path::PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).expect("mkdir");
        self
    }
}
