//! The monitor's databases for a test: a fresh SQLite file always, and a fresh PostgreSQL
//! database when `BACHATA_TEST_POSTGRES` names a server (`tests/postgres.sh` starts one for
//! the run). With `BACHATA_REQUIRE_POSTGRES=1` (CI), a missing server fails the test instead
//! of skipping that engine.

use std::sync::atomic::{AtomicU32, Ordering};

/// One database to run a test against.
pub struct TestDatabase {
    /// `sqlite` or `postgres`.
    pub engine: &'static str,
    /// The `MONITOR_DATABASE` value.
    pub url: String,
    /// Keeps a SQLite file's directory alive.
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh PostgreSQL database on the test server, or `None` when there is no server.
pub fn postgres_database() -> Option<String> {
    let Ok(base) = std::env::var("BACHATA_TEST_POSTGRES") else {
        if std::env::var("BACHATA_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
            panic!("BACHATA_REQUIRE_POSTGRES=1 but BACHATA_TEST_POSTGRES is not set");
        }
        eprintln!(
            "PostgreSQL: skipped (BACHATA_TEST_POSTGRES is not set; tests/postgres.sh starts a server)"
        );
        return None;
    };
    let name = format!(
        "bachata_test_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut client =
        postgres::Client::connect(&base, postgres::NoTls).expect("connect to the test PostgreSQL");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create a test database");
    // `postgresql:///postgres?host=…` → `postgresql:///<name>?host=…`.
    let (head, query) = base.split_once('?').unwrap_or((&base, ""));
    let (scheme_host, _) = head.rsplit_once('/').expect("a database in the URL");
    Some(if query.is_empty() {
        format!("{scheme_host}/{name}")
    } else {
        format!("{scheme_host}/{name}?{query}")
    })
}

/// Every engine available: SQLite, and PostgreSQL when there is a server.
pub fn databases() -> Vec<TestDatabase> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut databases = vec![TestDatabase {
        engine: "sqlite",
        url: dir.path().join("monitor.sqlite3").display().to_string(),
        _dir: Some(dir),
    }];
    if let Some(url) = postgres_database() {
        databases.push(TestDatabase {
            engine: "postgres",
            url,
            _dir: None,
        });
    }
    databases
}
