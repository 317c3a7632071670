//! The monitor's PostgreSQL store when things go wrong: a daemon stopped while connected, the
//! server stopped and started again under load (every acknowledged event kept, service back
//! by itself), a value the server cannot store (a validation error, not "try again"), and
//! several writers creating one experiment at once.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use bachata_common::capabilities::store::sql::Value;
use bachata_common::capabilities::store::{Store, StoreError};
use bachata_common::config::{Database, MonitorSettings};
use bachata_common::experiments::{Definition, Experiments};
use bachata_common::monitor::Monitor;
use bachata_common::{AppError, Error, Policy};
use bachata_common_tests::Sandbox;
use bachata_common_tests::databases::postgres_database;
use serde_json::{Value as Json, json};

/// A decision event with `id`.
pub fn decision(id: &str) -> Json {
    json!({
        "decision_id": id,
        "input_song": "Propuesta Indecente",
        "recommended_moves": ["basic", "cross_body_lead", "dip"],
        "recommendation_scores": [0.9, 0.7, 0.4],
        "algorithm_version": "1.0",
        "processing_time_ms": 12.0,
    })
}

/// One answer: status, `Retry-After` and the body.
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
}

/// POSTs `body` to `url`.
pub fn post(client: &reqwest::blocking::Client, url: &str, body: &Json) -> Answer {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .expect("the daemon answers");
    Answer {
        status: response.status().as_u16(),
        retry_after: response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .map(str::to_string),
        body: response.text().unwrap_or_default(),
    }
}

/// A client that waits long enough for a daemon working through an outage.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// A daemon whose log goes to a file (the faults make it log a line per refusal, more than a
/// pipe nobody reads holds).
pub struct Logged {
    child: Option<Child>,
    base: String,
    _log: tempfile::NamedTempFile,
}

impl Logged {
    /// Starts `bachata-common` with `args` (`run`, maybe after `-v`).
    pub fn start(sandbox: &Sandbox, args: &[&str]) -> Self {
        let log = tempfile::NamedTempFile::new().expect("log file");
        let mut child = sandbox
            .command(args)
            .stdout(Stdio::piped())
            .stderr(log.reopen().expect("log"))
            .spawn()
            .expect("start the daemon");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the daemon's first line");
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_string();
        assert!(line.starts_with("listening on"), "{line}");
        Self {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            _log: log,
        }
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM; the exit code and the log's last lines.
    pub fn terminate(self) -> (i32, String) {
        let (code, log) = self.terminate_with_log();
        let lines: Vec<&str> = log.lines().collect();
        (code, lines[lines.len().saturating_sub(40)..].join("\n"))
    }

    /// SIGTERM; the exit code and the whole log.
    pub fn terminate_with_log(mut self) -> (i32, String) {
        let mut child = self.child.take().expect("running");
        let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
        let status = child.wait().expect("wait");
        let log = std::fs::read_to_string(self._log.path()).unwrap_or_default();
        (status.code().unwrap_or(-1), log)
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A PostgreSQL cluster of the test's own (it is stopped and started), on a Unix socket in a
/// fresh directory, as `tests/postgres.sh` starts the run's shared one.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

fn postgres_bin() -> Option<PathBuf> {
    let versions = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    let mut found: Vec<PathBuf> = versions
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    found.sort();
    found.pop()
}

impl Cluster {
    /// Starts one, or `None` (the test skipped) when PostgreSQL's server is not installed.
    fn start() -> Option<Self> {
        let Some(bin) = postgres_bin() else {
            assert!(
                !std::env::var("BACHATA_REQUIRE_POSTGRES").is_ok_and(|v| v == "1"),
                "BACHATA_REQUIRE_POSTGRES=1 but PostgreSQL's server is not installed"
            );
            eprintln!("PostgreSQL: skipped (its server is not installed)");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("bachata-pg-fault.")
            .tempdir_in("/tmp")
            .expect("temp dir");
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let cluster = Self { dir, bin };
        if cluster.as_root() {
            run(Command::new("chown")
                .arg("postgres")
                .arg(cluster.dir.path()));
        }
        let data = cluster.data();
        run(cluster.tool("initdb").arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
        ]));
        cluster.resume();
        Some(cluster)
    }

    fn as_root(&self) -> bool {
        rustix::process::geteuid().is_root()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A server tool, run as the `postgres` user when the test runs as root.
    fn tool(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if self.as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    /// The connection string of its `postgres` database.
    fn url(&self) -> String {
        format!(
            "postgresql:///postgres?host={}&user=postgres",
            self.dir.path().display()
        )
    }

    /// Stops the server (`fast` or `immediate`).
    fn stop(&self, mode: &str) {
        run(self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", mode, "-w", "stop"]));
    }

    /// Starts the server on the same socket.
    fn resume(&self) {
        let options = format!(
            "-c listen_addresses='' -c unix_socket_directories={} -c fsync=off",
            self.dir.path().display()
        );
        run(self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-w", "-o", &options, "start"]));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

fn run(command: &mut Command) {
    let output = command.output().expect("run a PostgreSQL tool");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn daemon_sandbox(database: &str) -> Sandbox {
    let mut sandbox = Sandbox::new();
    sandbox
        .env("BACHATA_LISTEN", "127.0.0.1:0")
        .env("MONITOR_DATABASE", database);
    sandbox
}

#[test]
fn a_daemon_connected_to_postgres_stops_cleanly_on_sigterm() {
    let Some(url) = postgres_database() else {
        return;
    };
    let sandbox = daemon_sandbox(&url);
    let daemon = sandbox.daemon();
    let answer = post(&client(), &daemon.url("/v1/decisions"), &decision("term-1"));
    assert_eq!(answer.status, 201, "{}", answer.body);
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Posts batches of decisions until told to stop; what was acknowledged, and every refusal.
struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
    refused: Arc<Mutex<Vec<Answer>>>,
    thread: std::thread::JoinHandle<()>,
}

impl Load {
    fn start(url: String, prefix: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(Vec::new()));
        let thread = std::thread::spawn({
            let (stop, acked, refused) = (stop.clone(), acked.clone(), refused.clone());
            move || {
                let client = client();
                let mut batch = 0;
                while !stop.load(Ordering::Relaxed) {
                    let ids: Vec<String> =
                        (0..20).map(|i| format!("{prefix}-{batch}-{i}")).collect();
                    let events: Vec<Json> = ids.iter().map(|id| decision(id)).collect();
                    let answer = post(&client, &url, &json!(events));
                    if (200..300).contains(&answer.status) {
                        acked.lock().unwrap().extend(ids);
                    } else {
                        refused.lock().unwrap().push(answer);
                    }
                    batch += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        });
        Self {
            stop,
            acked,
            refused,
            thread,
        }
    }

    fn acked(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    /// Waits until `more` events more than now are acknowledged.
    fn wait_for(&self, more: usize, within: Duration, what: &str) {
        let target = self.acked() + more;
        let started = Instant::now();
        while self.acked() < target {
            assert!(
                started.elapsed() < within,
                "{what}: no service within {within:?}; last refusals: {:?}",
                self.refused
                    .lock()
                    .unwrap()
                    .iter()
                    .rev()
                    .take(3)
                    .map(|a| (a.status, a.body.clone()))
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn finish(self) -> (Vec<String>, Vec<Answer>) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("load thread");
        let acked = std::mem::take(&mut *self.acked.lock().unwrap());
        let refused = std::mem::take(&mut *self.refused.lock().unwrap());
        (acked, refused)
    }
}

#[test]
fn postgres_stopped_and_started_under_load_loses_nothing_and_service_resumes() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let sandbox = daemon_sandbox(&cluster.url());
    let daemon = sandbox.daemon();
    let load = Load::start(daemon.url("/v1/decisions"), "pg");
    load.wait_for(200, Duration::from_secs(30), "before the restarts");
    for mode in ["fast", "immediate"] {
        cluster.stop(mode);
        std::thread::sleep(Duration::from_millis(1500));
        cluster.resume();
        load.wait_for(200, Duration::from_secs(30), mode);
    }
    let (acked, refused) = load.finish();
    assert!(!refused.is_empty(), "the outages were never noticed");
    for answer in &refused {
        assert_eq!(answer.status, 503, "{}", answer.body);
        let seconds: u64 = answer
            .retry_after
            .as_deref()
            .unwrap_or_else(|| panic!("no Retry-After: {}", answer.body))
            .parse()
            .expect("Retry-After in seconds");
        assert!((1..=30).contains(&seconds), "{seconds}");
    }
    let mut check =
        postgres::Client::connect(&cluster.url(), postgres::NoTls).expect("connect to check");
    let stored: std::collections::HashSet<String> = check
        .query("SELECT decision_id FROM decisions", &[])
        .expect("stored decisions")
        .iter()
        .map(|row| row.get(0))
        .collect();
    let lost: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    drop(check);
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_daemon_whose_postgres_is_down_at_first_use_serves_once_it_is_up() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.stop("fast");
    let sandbox = daemon_sandbox(&cluster.url());
    let daemon = sandbox.daemon();
    let client = client();
    let url = daemon.url("/v1/decisions");
    let answer = post(&client, &url, &decision("down-1"));
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert!(answer.retry_after.is_some(), "{}", answer.body);
    assert!(
        !answer.body.contains("password"),
        "the connection string is not shown: {}",
        answer.body
    );
    // Asked again at once: answered without a new attempt, still with Retry-After.
    let again = post(&client, &url, &decision("down-1"));
    assert_eq!(again.status, 503, "{}", again.body);
    assert!(again.retry_after.is_some(), "{}", again.body);
    cluster.resume();
    let started = Instant::now();
    loop {
        let answer = post(&client, &url, &decision("down-1"));
        if answer.status == 201 {
            break;
        }
        assert_eq!(answer.status, 503, "{}", answer.body);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no service: {}",
            answer.body
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
}

fn is_validation(error: &StoreError) -> bool {
    matches!(error, StoreError::Invalid(AppError::Validation { .. }))
}

#[test]
fn a_value_postgres_cannot_store_is_a_validation_error() {
    let Some(url) = postgres_database() else {
        return;
    };
    let mut store = Store::open(&Database::new(&url)).expect("open");
    let outcome = store.write(|tx| {
        tx.execute(
            "INSERT INTO experiments (test_id, definition, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $3)",
            &[Value::from("nul"), Value::from("a\0b"), Value::Int(1)],
        )
    });
    let error = outcome.expect_err("PostgreSQL refuses NUL in text");
    assert!(is_validation(&error), "{error:?}");
    // The connection is still good.
    store
        .read(|tx| tx.query("SELECT 1", &[], &mut |_| Ok(())))
        .expect("read after the refusal");

    // Through the daemon: a 4xx problem, never "try again".
    let sandbox = daemon_sandbox(&url);
    let daemon = sandbox.daemon();
    let client = client();
    let answer = post(&client, &daemon.url("/v1/decisions"), &decision("nul-d"));
    assert_eq!(answer.status, 201, "{}", answer.body);
    let feedback = json!([
        {"feedback_id": "nul-f1", "decision_id": "nul-d", "feedback_type": "like"},
        {"feedback_id": "nul-f2", "decision_id": "nul-d", "feedback_type": "comment",
         "comments": "great\u{0}move"},
    ]);
    let answer = post(&client, &daemon.url("/v1/feedback"), &feedback);
    assert!(
        (400..500).contains(&answer.status),
        "{} {}",
        answer.status,
        answer.body
    );
    assert!(answer.retry_after.is_none(), "{}", answer.body);
}

fn definition(test_id: &str, split: f64) -> Definition {
    let now = chrono::Utc::now();
    Definition::from_json(
        &json!({
            "test_id": test_id,
            "test_name": "Concurrent creation",
            "start_date": (now - chrono::Duration::days(1)).format("%Y-%m-%d").to_string(),
            "end_date": (now + chrono::Duration::days(30)).format("%Y-%m-%d").to_string(),
            "algorithm_versions": ["1.0", "2.0"],
            "traffic_split": {"1.0": split, "2.0": 1.0 - split},
            "success_metrics": ["like_rate"],
            "minimum_sample_size": 100
        })
        .to_string(),
    )
    .expect("a definition")
}

#[test]
fn writers_creating_one_experiment_at_once_all_get_an_answer_of_the_catalog() {
    let Some(url) = postgres_database() else {
        return;
    };
    const WRITERS: usize = 6;
    let policy = Policy::embedded().expect("policy");
    // A connection each, as separate processes would have.
    let experiments: Vec<Experiments> = (0..WRITERS)
        .map(|_| {
            let monitor = Monitor::open(&MonitorSettings {
                database: Database::new(&url),
                retention_days: 90,
            })
            .expect("open");
            Experiments::new(Arc::new(monitor))
        })
        .collect();
    let experiments = Arc::new(experiments);
    for round in 0..8 {
        // Even rounds: the same definition everywhere (one creates, the others find it).
        // Odd rounds: two definitions (one wins; the other is refused as a conflict).
        let test_id = format!("race-{round}");
        let barrier = Arc::new(Barrier::new(WRITERS));
        let threads: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let (experiments, barrier, policy) =
                    (experiments.clone(), barrier.clone(), policy.clone());
                let split = if round % 2 == 1 && writer % 2 == 1 {
                    0.4
                } else {
                    0.5
                };
                let definition = definition(&test_id, split);
                std::thread::spawn(move || {
                    barrier.wait();
                    experiments[writer].create(&policy, definition)
                })
            })
            .collect();
        let outcomes: Vec<Result<_, Error>> = threads
            .into_iter()
            .map(|thread| thread.join().expect("writer"))
            .collect();
        let created: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
        assert!(!created.is_empty(), "round {round}: {outcomes:?}");
        for outcome in &outcomes {
            match outcome {
                Ok(experiment) => {
                    assert_eq!(experiment.created_at, created[0].created_at);
                    assert_eq!(experiment.definition, created[0].definition);
                }
                // The other definition: refused as a conflict with the stored one.
                Err(error)
                    if round % 2 == 1
                        && !matches!(error, Error::App(AppError::ServiceUnavailable { .. }))
                        && error.to_string().contains("exists") => {}
                Err(error) => panic!("round {round}: {error}"),
            }
        }
    }
}

#[test]
fn the_password_is_never_logged_nor_answered_even_in_debug_logs() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    const PASSWORD: &str = "Pw-9f3kq7";
    let socket = cluster.dir.path().display().to_string();
    let forms = [
        format!("postgresql://postgres:{PASSWORD}@/postgres?host={socket}"),
        format!("postgresql:///postgres?host={socket}&user=postgres&password={PASSWORD}"),
        format!("host={socket} user=postgres password={PASSWORD} dbname=postgres"),
    ];
    for (n, url) in forms.iter().enumerate() {
        let mut sandbox = daemon_sandbox(url);
        sandbox.env("RUST_LOG", "debug");
        let daemon = Logged::start(&sandbox, &["-v", "run"]);
        let client = client();
        let mut answers = Vec::new();
        let answer = post(
            &client,
            &daemon.url("/v1/decisions"),
            &decision(&format!("pw-{n}")),
        );
        assert_eq!(answer.status, 201, "{url}: {}", answer.body);
        answers.push(answer.body);
        cluster.stop("immediate");
        let feedback = json!({"decision_id": format!("pw-{n}"), "feedback_type": "like"});
        for (path, body) in [
            ("/v1/decisions", decision(&format!("pw-{n}-down"))),
            ("/v1/feedback", feedback),
        ] {
            let answer = post(&client, &daemon.url(path), &body);
            assert_eq!(answer.status, 503, "{}", answer.body);
            answers.push(answer.body);
        }
        let metrics = client
            .get(daemon.url("/v1/metrics/performance"))
            .send()
            .expect("metrics");
        assert_eq!(metrics.status(), 503);
        answers.push(metrics.text().unwrap_or_default());
        cluster.resume();
        let (code, log) = daemon.terminate_with_log();
        assert_eq!(code, 0, "{log}");
        assert!(log.contains("DEBUG"), "debug logs are on: {log}");
        assert!(!log.contains(PASSWORD), "the log shows the password: {log}");
        for body in answers {
            assert!(
                !body.contains(PASSWORD),
                "an answer shows the password: {body}"
            );
        }
    }
}
