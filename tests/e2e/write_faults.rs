//! The durability promise under faults, on every engine: a daemon killed (`SIGKILL`) or
//! stopped (`SIGTERM`) while clients write, and a disk that fills up. Every event answered
//! `2xx` is in the database afterwards, and the database is whole.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bachata_common_tests::databases::databases;
use bachata_common_tests::{Daemon, Sandbox};
use serde_json::{Value as Json, json};

fn sandbox(database: &str) -> Sandbox {
    let mut sandbox = Sandbox::new();
    sandbox
        .env("BACHATA_LISTEN", "127.0.0.1:0")
        .env("MONITOR_DATABASE", database);
    sandbox
}

fn decision(id: &str) -> Json {
    json!({
        "decision_id": id,
        "input_song": "Propuesta Indecente",
        "recommended_moves": ["basic", "cross_body_lead", "dip"],
        "recommendation_scores": [0.9, 0.7, 0.4],
        "processing_time_ms": 12.0,
        "song_features": {"bpm": 128, "key": "A minor"},
    })
}

/// Clients posting batches of 20 decisions until `stop`, each batch with new ids; the ids of
/// every batch answered `2xx`.
fn writers(
    daemon: &Daemon,
    prefix: &str,
    clients: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<thread::JoinHandle<Vec<String>>> {
    (0..clients)
        .map(|client| {
            let url = daemon.url("/v1/decisions");
            let stop = Arc::clone(stop);
            let prefix = format!("{prefix}-{client}");
            thread::spawn(move || {
                let http = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(20))
                    .build()
                    .expect("client");
                let mut acked = Vec::new();
                let mut batch_number = 0;
                while !stop.load(Ordering::Relaxed) {
                    let ids: Vec<String> = (0..20)
                        .map(|i| format!("{prefix}-{batch_number}-{i}"))
                        .collect();
                    batch_number += 1;
                    let body = Json::Array(ids.iter().map(|id| decision(id)).collect());
                    match http
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.to_string())
                        .send()
                    {
                        Ok(response) if response.status().is_success() => acked.extend(ids),
                        Ok(_) => thread::sleep(Duration::from_millis(20)),
                        // The daemon is gone.
                        Err(_) => break,
                    }
                }
                acked
            })
        })
        .collect()
}

/// The decision ids stored in `database`.
fn stored_ids(engine: &str, database: &str) -> std::collections::HashSet<String> {
    match engine {
        "sqlite" => {
            let connection = rusqlite::Connection::open(database).expect("open");
            let check: String = connection
                .query_row("PRAGMA integrity_check", [], |row| row.get(0))
                .expect("integrity check");
            assert_eq!(check, "ok");
            let mut statement = connection
                .prepare("SELECT decision_id FROM decisions")
                .expect("select");
            statement
                .query_map([], |row| row.get::<_, String>(0))
                .expect("rows")
                .map(|id| id.expect("id"))
                .collect()
        }
        _ => {
            let mut client = postgres::Client::connect(database, postgres::NoTls).expect("connect");
            client
                .query("SELECT decision_id FROM decisions", &[])
                .expect("select")
                .iter()
                .map(|row| row.get::<_, String>(0))
                .collect()
        }
    }
}

/// Writes for a while, then ends the daemon with `end`; every acknowledged id must be stored.
fn acknowledged_events_survive(end: &str) {
    for database in databases() {
        let sandbox = sandbox(&database.url);
        let daemon = sandbox.daemon();
        let stop = Arc::new(AtomicBool::new(false));
        let handles = writers(&daemon, end, 3, &stop);
        thread::sleep(Duration::from_millis(1500));
        match end {
            "kill" => drop(daemon),
            _ => {
                let (code, stderr) = daemon.terminate();
                assert_eq!(code, 0, "{}: {stderr}", database.engine);
            }
        }
        stop.store(true, Ordering::Relaxed);
        let acked: Vec<String> = handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("writer"))
            .collect();
        assert!(
            !acked.is_empty(),
            "{}: nothing was acknowledged",
            database.engine
        );
        let stored = stored_ids(database.engine, &database.url);
        let lost: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
        assert!(
            lost.is_empty(),
            "{} after {end}: {} of {} acknowledged events lost, e.g. {:?}",
            database.engine,
            lost.len(),
            acked.len(),
            lost.first()
        );
        // The store opens again and takes more.
        let daemon = sandbox.daemon();
        let answer = reqwest::blocking::Client::new()
            .post(daemon.url("/v1/decisions"))
            .header("content-type", "application/json")
            .body(decision(&format!("after-{end}")).to_string())
            .send()
            .expect("post");
        assert_eq!(answer.status().as_u16(), 201, "{}", database.engine);
    }
}

#[test]
fn sigkill_during_writes_loses_no_acknowledged_event() {
    acknowledged_events_survive("kill");
}

#[test]
fn sigterm_during_writes_loses_no_acknowledged_event() {
    acknowledged_events_survive("term");
}

/// Mounts a tmpfs of `size` on `dir` (root only); `false` when it cannot.
fn mount_tmpfs(dir: &std::path::Path, size: &str) -> bool {
    std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size},mode=0700"),
            "tmpfs",
        ])
        .arg(dir)
        .output()
        .is_ok_and(|output| output.status.success())
}

struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn a_full_disk_is_a_503_and_service_resumes_when_space_returns() {
    let outer = tempfile::tempdir().expect("dir");
    let disk = outer.path().join("disk");
    std::fs::create_dir(&disk).expect("mount point");
    if !mount_tmpfs(&disk, "3m") {
        if std::env::var("BACHATA_REQUIRE_FAULTS").is_ok_and(|value| value == "1") {
            panic!("cannot mount a tmpfs for the disk-full test");
        }
        eprintln!("disk full: skipped (mounting a tmpfs needs root)");
        return;
    }
    let _unmount = Unmount(disk.clone());
    let database = disk.join("monitor.sqlite3");
    let sandbox = sandbox(&database.display().to_string());
    let daemon = sandbox.daemon();
    let client = reqwest::blocking::Client::new();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut full = None;
    let started = Instant::now();
    for batch in 0..10_000 {
        let ids: Vec<String> = (0..50).map(|i| format!("full-{batch}-{i}")).collect();
        let body = Json::Array(ids.iter().map(|id| decision(id)).collect());
        let response = client
            .post(daemon.url("/v1/decisions"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .expect("the daemon answers while the disk is full");
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            acked.lock().expect("lock").extend(ids);
            continue;
        }
        full = Some((status, response.text().unwrap_or_default()));
        break;
    }
    let (status, body) = full.expect("the disk filled up");
    assert_eq!(status, 503, "{body}");
    assert!(started.elapsed() < Duration::from_secs(300));
    // The daemon still serves the rest.
    let health = client.get(daemon.url("/healthz")).send().expect("healthz");
    assert!(health.status().is_success());
    drop(daemon);
    let acked = acked.lock().expect("lock").clone();
    let stored = stored_ids("sqlite", &database.display().to_string());
    assert!(
        acked.iter().all(|id| stored.contains(id)),
        "an acknowledged event was lost on a full disk"
    );
    // With room again (the tmpfs grown), the same database takes events.
    let grown = std::process::Command::new("mount")
        .args(["-o", "remount,size=64m"])
        .arg(&disk)
        .status()
        .is_ok_and(|status| status.success());
    if grown {
        let daemon = sandbox.daemon();
        let answer = client
            .post(daemon.url("/v1/decisions"))
            .header("content-type", "application/json")
            .body(decision("after-full").to_string())
            .send()
            .expect("post");
        assert_eq!(answer.status().as_u16(), 201);
    }
}
