//! The monitor's SQLite store when its files are tampered with while the daemon runs: the
//! shared-memory index (`-shm`) truncated, idle or under load, or made immutable, and the
//! database made immutable. The daemon keeps serving; the monitor recovers or answers 503
//! with the reason. And the files it creates are private to their owner.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bachata_common_tests::Sandbox;
use serde_json::{Value as Json, json};

use crate::store_faults::{Answer, Logged, client, decision, post};

fn sandbox_with(database: &Path) -> Sandbox {
    let mut sandbox = Sandbox::new();
    sandbox
        .env("BACHATA_LISTEN", "127.0.0.1:0")
        .env("MONITOR_DATABASE", &database.display().to_string());
    sandbox
}

fn shm_of(database: &Path) -> PathBuf {
    PathBuf::from(format!("{}-shm", database.display()))
}

fn batch(prefix: &str, n: usize) -> (Vec<String>, Json) {
    let ids: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    let events: Vec<Json> = ids.iter().map(|id| decision(id)).collect();
    (ids, json!(events))
}

fn truncate(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open to truncate")
        .set_len(len)
        .expect("truncate");
}

fn healthy(daemon: &Logged) {
    let status = reqwest::blocking::get(daemon.url("/healthz"))
        .expect("the daemon is alive")
        .status();
    assert_eq!(status, 200);
}

/// Posts `body` until it is stored (a 503 in between must name its reason and say when to
/// try again); the answers refused on the way.
fn post_until_stored(daemon: &Logged, body: &Json) -> Vec<Answer> {
    let client = client();
    let started = Instant::now();
    let mut refused = Vec::new();
    loop {
        let answer = post(&client, &daemon.url("/v1/decisions"), body);
        if (200..300).contains(&answer.status) {
            return refused;
        }
        assert_eq!(answer.status, 503, "{}", answer.body);
        assert!(answer.retry_after.is_some(), "{}", answer.body);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never stored: {}",
            answer.body
        );
        refused.push(answer);
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Stops the daemon (it must exit 0) and checks every id of `acked` is in the database, which
/// is whole.
fn stop_and_check(daemon: Logged, database: &Path, acked: &[String]) {
    let (code, log) = daemon.terminate();
    assert_eq!(code, 0, "{log}");
    let connection = rusqlite::Connection::open(database).expect("open to check");
    let integrity: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity check");
    assert_eq!(integrity, "ok");
    let mut statement = connection
        .prepare("SELECT decision_id FROM decisions")
        .expect("prepare");
    let stored: std::collections::HashSet<String> = statement
        .query_map([], |row| row.get(0))
        .expect("query")
        .map(|id| id.expect("id"))
        .collect();
    let lost: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
}

#[test]
fn a_truncated_shm_is_restored_and_the_daemon_keeps_serving() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = dir.path().join("monitor.sqlite3");
    let sandbox = sandbox_with(&database);
    let daemon = Logged::start(&sandbox, &["run"]);
    let client = client();
    let mut acked = Vec::new();
    let (ids, body) = batch("before", 50);
    assert_eq!(
        post(&client, &daemon.url("/v1/decisions"), &body).status,
        201
    );
    acked.extend(ids);
    // Emptied, then cut in the middle (the header kept, the hash tables gone).
    for (round, len) in [0u64, 16_384, 3].into_iter().enumerate() {
        truncate(&shm_of(&database), len);
        let (ids, body) = batch(&format!("after-{round}"), 50);
        post_until_stored(&daemon, &body);
        acked.extend(ids);
        healthy(&daemon);
        let metrics: Json = reqwest::blocking::get(daemon.url("/v1/metrics/performance?days=1"))
            .expect("metrics")
            .json()
            .expect("json");
        assert_eq!(metrics["total_recommendations"], acked.len(), "{metrics}");
    }
    stop_and_check(daemon, &database, &acked);
}

#[test]
fn truncating_the_shm_under_load_never_takes_the_daemon_down() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = dir.path().join("monitor.sqlite3");
    let sandbox = sandbox_with(&database);
    let daemon = Logged::start(&sandbox, &["run"]);
    let url = daemon.url("/v1/decisions");
    let (ids, body) = batch("first", 10);
    assert_eq!(post(&client(), &url, &body).status, 201);
    let mut acked = ids;
    let stop = Arc::new(AtomicBool::new(false));
    let loaders: Vec<_> = (0..2)
        .map(|t| {
            let (url, stop) = (url.clone(), stop.clone());
            std::thread::spawn(move || {
                let client = client();
                let mut acked = Vec::new();
                let mut statuses = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let (ids, body) = batch(&format!("load-{t}-{n}"), 20);
                    let answer = post(&client, &url, &body);
                    if (200..300).contains(&answer.status) {
                        acked.extend(ids);
                    } else {
                        assert_eq!(answer.status, 503, "{}", answer.body);
                        statuses.push(answer.body);
                    }
                    n += 1;
                }
                (acked, statuses)
            })
        })
        .collect();
    let shm = shm_of(&database);
    let started = Instant::now();
    let mut cuts = 0;
    while started.elapsed() < Duration::from_secs(4) {
        truncate(&shm, if cuts % 2 == 0 { 0 } else { 16_384 });
        cuts += 1;
        std::thread::sleep(Duration::from_millis(7));
    }
    stop.store(true, Ordering::Relaxed);
    for loader in loaders {
        let (ids, _refused) = loader.join().expect("loader");
        acked.extend(ids);
    }
    healthy(&daemon);
    let (ids, body) = batch("last", 10);
    post_until_stored(&daemon, &body);
    acked.extend(ids);
    stop_and_check(daemon, &database, &acked);
}

/// `chattr` on `path`; false when the file system or the test's privileges do not allow it.
fn chattr(flag: &str, path: &Path) -> bool {
    Command::new("chattr")
        .arg(flag)
        .arg(path)
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Takes the immutable flag off again, whatever the test's outcome.
struct Immutable(PathBuf);

impl Drop for Immutable {
    fn drop(&mut self) {
        chattr("-i", &self.0);
    }
}

#[test]
fn a_truncated_shm_that_cannot_be_restored_is_a_503_with_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = dir.path().join("monitor.sqlite3");
    let sandbox = sandbox_with(&database);
    let daemon = Logged::start(&sandbox, &["run"]);
    let client = client();
    let (mut acked, body) = batch("before", 20);
    assert_eq!(
        post(&client, &daemon.url("/v1/decisions"), &body).status,
        201
    );
    let shm = shm_of(&database);
    truncate(&shm, 0);
    if !chattr("+i", &shm) {
        eprintln!("chattr +i is not available here: the immutable case is skipped");
        return;
    }
    let guard = Immutable(shm.clone());
    let (_, body) = batch("during", 20);
    let answer = post(&client, &daemon.url("/v1/decisions"), &body);
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert!(answer.body.contains("-shm"), "{}", answer.body);
    assert!(answer.retry_after.is_some(), "{}", answer.body);
    healthy(&daemon);
    drop(guard);
    let (ids, body) = batch("after", 20);
    post_until_stored(&daemon, &body);
    acked.extend(ids);
    stop_and_check(daemon, &database, &acked);
}

#[test]
fn an_immutable_database_leaves_the_daemon_serving() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = dir.path().join("monitor.sqlite3");
    let sandbox = sandbox_with(&database);
    let daemon = Logged::start(&sandbox, &["run"]);
    let client = client();
    let (mut acked, body) = batch("before", 20);
    assert_eq!(
        post(&client, &daemon.url("/v1/decisions"), &body).status,
        201
    );
    if !chattr("+i", &database) {
        eprintln!("chattr +i is not available here: the immutable case is skipped");
        return;
    }
    let guard = Immutable(database.clone());
    for round in 0..3 {
        let (ids, body) = batch(&format!("during-{round}"), 20);
        let answer = post(&client, &daemon.url("/v1/decisions"), &body);
        match answer.status {
            200..300 => acked.extend(ids),
            503 => assert!(answer.retry_after.is_some(), "{}", answer.body),
            other => panic!("{other}: {}", answer.body),
        }
        healthy(&daemon);
    }
    drop(guard);
    let (ids, body) = batch("after", 20);
    post_until_stored(&daemon, &body);
    acked.extend(ids);
    stop_and_check(daemon, &database, &acked);
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn the_database_and_the_directories_the_host_creates_are_private() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let database = dir.path().join("new/sub/monitor.sqlite3");
    let sandbox = sandbox_with(&database);
    let daemon = Logged::start(&sandbox, &["run"]);
    let (ids, body) = batch("private", 5);
    assert_eq!(
        post(&client(), &daemon.url("/v1/decisions"), &body).status,
        201
    );
    for file in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{file}", database.display()));
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    assert_eq!(mode(&dir.path().join("new")), 0o700);
    assert_eq!(mode(&dir.path().join("new/sub")), 0o700);
    // A directory that was there already keeps its mode.
    assert_eq!(mode(dir.path()), 0o755);
    stop_and_check(daemon, &database, &ids);
}
