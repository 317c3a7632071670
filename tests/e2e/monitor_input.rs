//! The monitor under hostile input: imports read once from pipes and bounded on special
//! files, all or nothing; numbers bounded so no figure overflows; a failing experiment is one
//! section of a report; retention removes what the figures count; repeated ids with other
//! content are conflicts; control characters refused; passwords of every connection-string
//! form never shown; a database inside a managed area refused.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bachata_common::Policy;
use bachata_common::config::{Database, MonitorSettings};
use bachata_common::experiments::{Definition, Experiments, ReportedExperiment};
use bachata_common::monitor::{DecisionInput, FeedbackInput, MetricsQuery, Monitor};
use bachata_common_tests::databases::databases;
use bachata_common_tests::{Run, Sandbox};
use serde_json::{Value, json};

fn decision_line(id: usize) -> String {
    json!({
        "decision_id": format!("d-{id}"),
        "input_song": "Obsesión",
        "recommended_moves": ["basic", "dip"],
        "recommendation_scores": [0.9, 0.4],
        "processing_time_ms": 12.5,
    })
    .to_string()
}

fn sandbox() -> Sandbox {
    let mut sandbox = Sandbox::new();
    sandbox.env("MONITOR_DATABASE", "monitor.sqlite3");
    sandbox
}

/// Runs `args` with `input` on standard input.
fn run_with_stdin(sandbox: &Sandbox, args: &[&str], input: &str) -> Run {
    let mut child = sandbox
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write stdin");
    drop(stdin);
    Run::from_output(child.wait_with_output().expect("wait"))
}

fn stored_decisions(sandbox: &Sandbox) -> i64 {
    let connection =
        rusqlite::Connection::open(sandbox.path().join("monitor.sqlite3")).expect("open");
    connection
        .query_row("SELECT COUNT(*) FROM decisions", [], |row| row.get(0))
        .expect("count")
}

#[test]
fn an_import_reads_a_pipe_once() {
    let sandbox = sandbox();
    let lines: String = (1..=5).map(|i| decision_line(i) + "\n").collect();
    for from in ["-", "/dev/stdin"] {
        let run = run_with_stdin(
            &sandbox,
            &["--json", "monitor", "log-decision", "--from", from],
            &lines,
        );
        assert_eq!(run.code, 0, "{}", run.all_output());
        let summary = run.json();
        assert_eq!(summary["events"], 5, "{summary}");
        let stored = summary["stored"].as_u64().unwrap_or_default();
        let duplicates = summary["duplicates"].as_u64().unwrap_or_default();
        assert_eq!(stored + duplicates, 5, "{summary}");
    }
    assert_eq!(stored_decisions(&sandbox), 5);
}

#[test]
fn special_files_are_refused_or_bounded() {
    let sandbox = sandbox();
    let started = Instant::now();
    let run = sandbox.run(&["monitor", "log-decision", "--from", "/dev/zero"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(run.error_line().contains("device"), "{}", run.error_line());
    let run = sandbox.run(&["monitor", "log-decision", "--from", "."]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    // 2 GiB without a line end (sparse): refused at the first MiB, not after reading it all.
    let huge = sandbox.path().join("huge.jsonl");
    std::fs::File::create(&huge)
        .and_then(|file| file.set_len(2 << 30))
        .expect("sparse file");
    let run = sandbox.run(&["monitor", "log-decision", "--from", "huge.jsonl"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.error_line().contains("longer than"),
        "{}",
        run.error_line()
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn an_import_stores_all_or_nothing() {
    let sandbox = sandbox();
    let decisions: String = (1..=1500).map(|i| decision_line(i) + "\n").collect();
    sandbox.write("decisions.jsonl", &decisions);
    let run = sandbox.run(&["monitor", "log-decision", "--from", "decisions.jsonl"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    // Feedback whose line 1,500 names an unknown decision: nothing stored, the line named.
    let mut feedback = String::new();
    for i in 1..=2500 {
        let decision = if i == 1500 {
            "unknown".to_string()
        } else {
            format!("d-{}", i % 1500 + 1)
        };
        feedback.push_str(
            &json!({"feedback_id": format!("f-{i}"), "decision_id": decision, "feedback_type": "like"})
                .to_string(),
        );
        feedback.push('\n');
    }
    sandbox.write("feedback.jsonl", &feedback);
    let run = sandbox.run(&["monitor", "log-feedback", "--from", "feedback.jsonl"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.error_line().contains("line 1500"),
        "{}",
        run.error_line()
    );
    let connection =
        rusqlite::Connection::open(sandbox.path().join("monitor.sqlite3")).expect("open");
    let count = |sql: &str| -> i64 { connection.query_row(sql, [], |row| row.get(0)).expect(sql) };
    assert_eq!(count("SELECT COUNT(*) FROM feedback"), 0);
    assert_eq!(
        count("SELECT COALESCE(SUM(events), 0) FROM feedback_rollup"),
        0
    );
    // The corrected file, twice: stored once.
    sandbox.write("feedback.jsonl", feedback.replace("\"unknown\"", "\"d-1\""));
    for _ in 0..2 {
        let run = sandbox.run(&["monitor", "log-feedback", "--from", "feedback.jsonl"]);
        assert_eq!(run.code, 0, "{}", run.all_output());
    }
    assert_eq!(count("SELECT COUNT(*) FROM feedback"), 2500);
    assert_eq!(count("SELECT SUM(events) FROM feedback_rollup"), 2500);
}

/// The monitor of `database`, keeping events `retention_days`.
fn open_monitor(database: impl Into<String>, retention_days: u32) -> Monitor {
    Monitor::open(&MonitorSettings {
        database: Database::new(database),
        retention_days,
    })
    .expect("open")
}

fn decision(id: &str, ms: f64, score: f64) -> DecisionInput {
    DecisionInput {
        decision_id: Some(id.to_string()),
        input_song: "Obsesión".into(),
        recommended_moves: vec!["basic".into()],
        recommendation_scores: vec![score],
        processing_time_ms: ms,
        ..Default::default()
    }
}

#[test]
fn numbers_are_bounded_so_figures_stay_finite() {
    let policy = Policy::embedded().expect("policy");
    for database in databases() {
        let monitor = open_monitor(&database.url, 90);
        for (ms, score) in [(1e200, 0.5), (1.7e308, 0.5), (-1.0, 0.5), (10.0, 1.7e308)] {
            let error = monitor
                .log_decision(&policy, decision("big", ms, score))
                .expect_err("out of range");
            assert!(error.is_invalid_input(), "{error}");
        }
        monitor
            .log_decisions(
                &policy,
                vec![
                    decision("a", 86_400_000.0, 1e9),
                    decision("b", 86_400_000.0, 1e9),
                ],
            )
            .expect("the largest values");
        let metrics = monitor
            .metrics(&policy, &MetricsQuery::default())
            .expect("metrics");
        let json = serde_json::to_value(&metrics).expect("json");
        assert_eq!(
            json["avg_processing_time_ms"], 86_400_000.0,
            "{}: {json}",
            database.engine
        );
        assert!(json["avg_recommendation_score"].is_number(), "{json}");
        // Control characters in free text.
        let mut feature = decision("c", 1.0, 0.5);
        feature.song_features.insert(
            "key".into(),
            bachata_common::monitor::Feature::Text("A\u{1b}[2J".into()),
        );
        assert!(monitor.log_decision(&policy, feature).is_err());
        for comments in ["nul\u{0}here", "esc\u{1b}[31m"] {
            let error = monitor
                .log_feedback(
                    &policy,
                    FeedbackInput {
                        decision_id: "a".into(),
                        feedback_type: "like".into(),
                        comments: Some(comments.into()),
                        ..Default::default()
                    },
                )
                .expect_err("a control character");
            assert!(error.is_invalid_input(), "{}: {error}", database.engine);
        }
        monitor
            .log_feedback(
                &policy,
                FeedbackInput {
                    decision_id: "a".into(),
                    feedback_type: "like".into(),
                    comments: Some("two\nlines\tand a tab".into()),
                    ..Default::default()
                },
            )
            .expect("line ends and tabs are text");
    }
}

#[test]
fn a_repeated_id_with_other_content_is_a_conflict() {
    let policy = bachata_common::Policy::shared().expect("policy");
    for database in databases() {
        let monitor = open_monitor(&database.url, 90);
        assert!(
            monitor
                .log_decision(policy, decision("r", 10.0, 0.5))
                .expect("first")
                .stored
        );
        let again = monitor
            .log_decision(policy, decision("r", 10.0, 0.5))
            .expect("a retry");
        assert!(!again.stored);
        let error = monitor
            .log_decision(policy, decision("r", 11.0, 0.5))
            .expect_err("other content");
        assert!(
            matches!(error, bachata_common::Error::Conflict(_)),
            "{}: {error}",
            database.engine
        );
        assert!(error.to_string().contains("\"r\""), "{error}");
        // Twice in one batch with different content: nothing written.
        let error = monitor
            .log_decisions(
                policy,
                vec![decision("s", 1.0, 0.5), decision("s", 2.0, 0.5)],
            )
            .expect_err("a batch that contradicts itself");
        assert!(
            matches!(error, bachata_common::Error::Conflict(_)),
            "{error}"
        );
        let like = |comments: &str| FeedbackInput {
            feedback_id: Some("f".into()),
            decision_id: "r".into(),
            feedback_type: "like".into(),
            comments: Some(comments.into()),
            ..Default::default()
        };
        assert!(
            monitor
                .log_feedback(policy, like("great"))
                .expect("first")
                .stored
        );
        assert!(
            !monitor
                .log_feedback(policy, like("great"))
                .expect("a retry")
                .stored
        );
        let error = monitor
            .log_feedback(policy, like("awful"))
            .expect_err("other content");
        assert!(
            matches!(error, bachata_common::Error::Conflict(_)),
            "{error}"
        );
    }
}

#[test]
fn a_repeated_id_with_other_content_answers_409() {
    let mut sandbox = sandbox();
    sandbox.env("BACHATA_LISTEN", "127.0.0.1:0");
    let daemon = sandbox.daemon();
    let client = reqwest::blocking::Client::new();
    let post = |body: &Value| {
        let response = client
            .post(daemon.url("/v1/decisions"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .expect("post");
        (
            response.status().as_u16(),
            response.json::<Value>().unwrap_or(Value::Null),
        )
    };
    let first: Value = serde_json::from_str(&decision_line(7)).expect("json");
    assert_eq!(post(&first).0, 201);
    assert_eq!(post(&first).0, 200);
    let mut other = first.clone();
    other["processing_time_ms"] = json!(99.0);
    let (status, problem) = post(&other);
    assert_eq!(status, 409, "{problem}");
    assert!(problem["message"].to_string().contains("d-7"), "{problem}");
    let mut huge = first.clone();
    huge["decision_id"] = json!("d-8");
    huge["processing_time_ms"] = json!(1e200);
    let (status, problem) = post(&huge);
    assert_eq!(status, 400, "{problem}");
    let mut nul = json!({"decision_id": "d-7", "feedback_type": "like", "comments": "a\u{0}b"});
    let response = client
        .post(daemon.url("/v1/feedback"))
        .header("content-type", "application/json")
        .body(nul.to_string())
        .send()
        .expect("post");
    assert_eq!(response.status().as_u16(), 400);
    nul["comments"] = json!("ok");
    let response = client
        .post(daemon.url("/v1/feedback"))
        .header("content-type", "application/json")
        .body(nul.to_string())
        .send()
        .expect("post");
    assert_eq!(response.status().as_u16(), 201);
}

fn definition(test_id: &str) -> Definition {
    Definition::from_json(
        &json!({
            "test_id": test_id,
            "test_name": "ranker",
            "algorithm_versions": ["1.0", "2.0"],
            "traffic_split": {"1.0": 0.5, "2.0": 0.5},
            "start_date": "2020-01-01",
            "end_date": "2999-12-31",
            "success_metrics": ["processing_time_ms"],
        })
        .to_string(),
    )
    .expect("definition")
}

#[test]
fn one_broken_experiment_does_not_break_the_report() {
    let policy = Policy::embedded().expect("policy");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("monitor.sqlite3");
    let monitor = std::sync::Arc::new(open_monitor(path.display().to_string(), 90));
    let experiments = Experiments::new(std::sync::Arc::clone(&monitor));
    experiments
        .create(&policy, definition("good"))
        .expect("good");
    experiments
        .create(&policy, definition("broken"))
        .expect("broken");
    for unit in 0..40 {
        let unit = format!("u{unit}");
        experiments.assign(&policy, "good", &unit).expect("assign");
        experiments
            .assign(&policy, "broken", &unit)
            .expect("assign");
        let mut input = decision(&format!("d-{unit}"), 10.0, 0.5);
        input.user_id = Some(unit.clone());
        monitor.log_decision(&policy, input).expect("decision");
    }
    // Decisions stored before the bounds existed: sums overflow to infinity.
    let connection = rusqlite::Connection::open(&path).expect("open");
    connection
        .execute("UPDATE decisions SET processing_time_ms = 1.7e308", [])
        .expect("legacy values");
    let report = experiments
        .report(&policy, 7)
        .expect("the report as a whole");
    assert!(
        report.experiments.iter().any(|s| s.test_id() == "good"),
        "{:?}",
        report.experiments
    );
    let html = report.to_html();
    for section in &report.experiments {
        if let ReportedExperiment::Failed { error, test_id } = section {
            assert!(error.starts_with("could not be computed: "), "{error}");
            assert!(html.contains(&format!("experiment-{test_id}")));
        }
    }
    let json = serde_json::to_string(&report).expect("the report as JSON");
    assert!(json.contains("\"good\""));
}

#[test]
fn pruning_removes_what_the_figures_count() {
    let policy = Policy::embedded().expect("policy");
    for database in databases() {
        let monitor = open_monitor(&database.url, 30);
        let now = chrono::Utc::now();
        let mut old = decision("old", 10.0, 0.5);
        old.timestamp = Some(now - chrono::Duration::days(40));
        monitor.log_decision(&policy, old).expect("old decision");
        monitor
            .log_decision(&policy, decision("new", 10.0, 0.5))
            .expect("new decision");
        for (id, on, value) in [("f1", "old", 1.0), ("f2", "old", 1.0), ("f3", "new", 5.0)] {
            monitor
                .log_feedback(
                    &policy,
                    FeedbackInput {
                        feedback_id: Some(id.into()),
                        decision_id: on.into(),
                        feedback_type: "rating".into(),
                        feedback_value: Some(value),
                        ..Default::default()
                    },
                )
                .expect("feedback");
        }
        let pruned = monitor.prune(now).expect("prune");
        assert_eq!(
            (pruned.decisions, pruned.feedback),
            (1, 2),
            "{}",
            database.engine
        );
        let metrics = monitor
            .metrics(
                &policy,
                &MetricsQuery {
                    days: 30,
                    ..Default::default()
                },
            )
            .expect("metrics");
        let json = serde_json::to_value(&metrics).expect("json");
        assert_eq!(json["feedback_count"], 1, "{}: {json}", database.engine);
        assert_eq!(json["mean_rating"], 5.0, "{}: {json}", database.engine);
    }
}

#[test]
fn connection_string_passwords_are_never_shown() {
    for value in [
        "postgres://app@h/db?password=Leak1x",
        "postgres://app:Leak/Pw?x9@h/db",
        "postgresql:///db?host=/run/pg&user=app&password=Leak1x",
        "host=/run/pg user=app password=Leak1x dbname=db",
        "host=h password='Leak 1x'",
    ] {
        let mut sandbox = Sandbox::new();
        sandbox.env("MONITOR_DATABASE", value);
        for args in [
            &["config", "show"][..],
            &["--json", "config", "show"],
            &["-v", "config", "show"],
            &["config", "check"],
        ] {
            let run = sandbox.run(args);
            assert!(
                !run.all_output().contains("Leak"),
                "{value} {args:?}: {}",
                run.all_output()
            );
        }
        let run = sandbox.run(&["--json", "config", "show"]);
        assert_eq!(run.code, 0, "{value}: {}", run.all_output());
    }
}

#[test]
fn a_database_inside_a_managed_area_is_refused() {
    for value in [
        "data/temp/m.db",
        "./data/cache/x/../m.db",
        "data/output/m.db",
    ] {
        let mut sandbox = Sandbox::new();
        sandbox.env("MONITOR_DATABASE", value);
        let run = sandbox.run(&["config", "check"]);
        assert_eq!(run.code, 2, "{value}: {}", run.all_output());
        assert!(
            run.all_output().contains("MONITOR_DATABASE"),
            "{}",
            run.all_output()
        );
    }
    let mut sandbox = Sandbox::new();
    sandbox.env("MONITOR_DATABASE", "data/monitor-elsewhere.sqlite3");
    assert_eq!(sandbox.run(&["config", "check"]).code, 0);
}

#[test]
fn a_database_reached_through_a_link_into_an_area_is_refused() {
    let mut sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.path().join("data/temp")).expect("area");
    std::os::unix::fs::symlink(sandbox.path().join("data/temp"), sandbox.path().join("db"))
        .expect("link");
    sandbox.env("MONITOR_DATABASE", "db/monitor.sqlite3");
    let run = sandbox.run(&["config", "check"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    let absolute = sandbox.path().join("data/temp/m.db").display().to_string();
    sandbox.env("MONITOR_DATABASE", &absolute);
    let run = sandbox.run(&["config", "check"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
}

#[test]
fn an_event_or_definition_written_as_an_array_is_refused() {
    let mut sandbox = sandbox();
    sandbox.env("BACHATA_LISTEN", "127.0.0.1:0");
    let daemon = sandbox.daemon();
    let client = reqwest::blocking::Client::new();
    let post = |path: &str, body: &str| {
        client
            .post(daemon.url(path))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .expect("post")
            .status()
            .as_u16()
    };
    // The fields in order, as serde would read a struct from a sequence.
    let fields = r#"[null,null,null,"song",["a"],[0.5],null,{},3.0,{},null,null]"#;
    assert_eq!(post("/v1/decisions", &format!("[{fields}]")), 400);
    assert_eq!(post("/v1/decisions", fields), 400);
    let definition = r#"["t2","T","2026-01-01","2099-01-01",["a","b"],{"a":0.5,"b":0.5},1.0,null,2,["like_rate"],150,null,false,"none"]"#;
    assert_eq!(post("/v1/experiments", definition), 400);
    drop(daemon);
    sandbox.write("lines.jsonl", format!("{fields}\n"));
    let run = sandbox.run(&["monitor", "log-decision", "--from", "lines.jsonl"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert_eq!(stored_decisions(&sandbox), 0);
}

#[test]
fn database_settings_that_would_lose_or_leak_are_refused() {
    let check = |vars: &[(&str, &str)], dotenv: Option<&str>| {
        let mut sandbox = Sandbox::new();
        for (name, value) in vars {
            sandbox.env(name, value);
        }
        let mut args = vec!["config", "check"];
        if let Some(text) = dotenv {
            sandbox.write("t.env", text);
            args.extend(["--env-file", "t.env"]);
        }
        let run = sandbox.run(&args);
        let listing = std::fs::read_dir(sandbox.path())
            .expect("list")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect::<Vec<_>>();
        (run, listing, sandbox)
    };
    // SQLite would read a `file:` URI's options (mode=memory: nothing kept) and its path.
    for value in [
        "file:data/temp/x.db",
        "file:m.db?mode=memory&cache=shared",
        "FILE:n.db",
    ] {
        let (run, ..) = check(&[("MONITOR_DATABASE", value)], None);
        assert_eq!(run.code, 2, "{value}: {}", run.all_output());
    }
    // The data directory or an area itself.
    for value in ["data", "data/temp", "./data/cache/", "data/output/"] {
        let (run, ..) = check(&[("MONITOR_DATABASE", value)], None);
        assert_eq!(run.code, 2, "{value}: {}", run.all_output());
    }
    // An area reached by an absolute path whose folders do not exist yet, with a relative
    // data directory, and the other way round.
    let sandbox = Sandbox::new();
    let absolute = sandbox
        .path()
        .join("data/temp/new/m.db")
        .display()
        .to_string();
    let mut run_in = Sandbox::new();
    run_in.env("MONITOR_DATABASE", &absolute);
    let run = sandbox
        .command(&["config", "check"])
        .env("MONITOR_DATABASE", &absolute)
        .output();
    assert_eq!(run.expect("run").status.code(), Some(2));
    let data = sandbox.path().join("data").display().to_string();
    let run = sandbox
        .command(&["config", "check"])
        .env("BACHATA_DATA_DIR", &data)
        .env("MONITOR_DATABASE", "data/temp/n7/x.db")
        .output()
        .expect("run");
    assert_eq!(run.status.code(), Some(2));
    // A connection string with a wrong keyword is no file name, and shows no password.
    let (run, listing, _) = check(
        &[(
            "MONITOR_DATABASE",
            "Host=127.0.0.1 port=55432 user=u5 password=Zq9canary",
        )],
        None,
    );
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        !run.all_output().contains("Zq9canary"),
        "{}",
        run.all_output()
    );
    assert!(
        listing.iter().all(|name| !name.contains("Zq9canary")),
        "{listing:?}"
    );
    // Strings libpq would refuse are refused when checked, not answered as an outage later.
    for value in [
        "postgres://u@h/db?sslmode=bogus",
        "postgres://u@h:99999/db",
        "postgres://u@h/db?foo=bar",
    ] {
        let (run, ..) = check(&[("MONITOR_DATABASE", value)], None);
        assert_eq!(run.code, 2, "{value}: {}", run.all_output());
    }
    // The password is a secret wherever else it shows.
    let (run, ..) = check(
        &[],
        Some(
            "MONITOR_DATABASE=postgres://u5:Zq9canary@127.0.0.1:55432/m5\nELASTICSEARCH_PORT=${MONITOR_DATABASE}\n",
        ),
    );
    assert!(
        !run.all_output().contains("Zq9canary"),
        "{}",
        run.all_output()
    );
    let (run, ..) = check(
        &[
            ("MONITOR_DATABASE", "postgres://u@h/db?password=Zq9canary"),
            ("ELASTICSEARCH_HOST", "Zq9canary"),
        ],
        None,
    );
    let mut sandbox = Sandbox::new();
    sandbox
        .env("MONITOR_DATABASE", "postgres://u@h/db?password=Zq9canary")
        .env("ELASTICSEARCH_HOST", "Zq9canary");
    for args in [&["config", "show"][..], &["--json", "config", "show"]] {
        let shown = sandbox.run(args);
        assert!(
            !shown.all_output().contains("Zq9canary"),
            "{}",
            shown.all_output()
        );
    }
    assert!(
        !run.all_output().contains("Zq9canary"),
        "{}",
        run.all_output()
    );
}

#[test]
fn a_named_pipe_is_read_once_its_writer_comes() {
    let sandbox = sandbox();
    let fifo = sandbox.path().join("events.fifo");
    bachata_common_tests::fifo(&fifo);
    let child = sandbox
        .command(&["--json", "monitor", "log-decision", "--from", "events.fifo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    // The writer comes later.
    std::thread::sleep(Duration::from_millis(800));
    let lines: String = (1..=3).map(|i| decision_line(i) + "\n").collect();
    std::fs::write(&fifo, lines).expect("write the pipe");
    let run = Run::from_output(child.wait_with_output().expect("wait"));
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(run.json()["stored"], 3, "{}", run.all_output());
}

#[test]
fn negative_zero_is_zero() {
    let policy = Policy::embedded().expect("policy");
    for database in databases() {
        let monitor = open_monitor(&database.url, 90);
        monitor
            .log_decisions(
                &policy,
                vec![
                    decision("z1", -0.0, -0.0),
                    decision("z2", 40.0, 0.5),
                    decision("z3", 100.0, 0.5),
                ],
            )
            .expect("store");
        // A retry writing the other zero is the same event.
        assert!(
            !monitor
                .log_decision(&policy, decision("z1", 0.0, 0.0))
                .expect("retry")
                .stored
        );
        let metrics = monitor
            .metrics(&policy, &MetricsQuery::default())
            .expect("metrics");
        let json = serde_json::to_value(&metrics).expect("json");
        assert_eq!(
            json["processing_time_ms"]["p50"], 40.0,
            "{}: {json}",
            database.engine
        );
    }
}

#[test]
fn the_cli_keeps_to_the_api_rules() {
    let sandbox = sandbox();
    for k in ["0", "1001", "4294967295"] {
        let run = sandbox.run(&["monitor", "metrics", "--k", k]);
        assert_eq!(run.code, 2, "--k {k}: {}", run.all_output());
    }
    // A conflict is the API's 409 in the problem document too.
    let log = |score: &str| {
        sandbox.run(&[
            "--json",
            "monitor",
            "log-decision",
            "--id",
            "c-1",
            "--song",
            "s",
            "--moves",
            "a",
            "--scores",
            score,
        ])
    };
    assert_eq!(log("1").code, 0);
    let conflict = log("0.5");
    assert_eq!(conflict.code, 2, "{}", conflict.all_output());
    assert_eq!(conflict.json()["status"], 409, "{}", conflict.all_output());
    // A report page replaces a file, never a link in its place.
    std::fs::write(sandbox.path().join("target.txt"), "keep").expect("write");
    std::os::unix::fs::symlink("target.txt", sandbox.path().join("page.html")).expect("link");
    let run = sandbox.run(&["monitor", "report", "--html", "page.html"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        std::fs::symlink_metadata(sandbox.path().join("page.html"))
            .expect("link")
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(sandbox.path().join("target.txt")).expect("read"),
        "keep"
    );
}

#[test]
fn a_report_analyzes_a_bounded_number_of_experiments() {
    let policy = Policy::embedded().expect("policy");
    let dir = tempfile::tempdir().expect("dir");
    let monitor = std::sync::Arc::new(open_monitor(
        dir.path().join("m.sqlite3").display().to_string(),
        90,
    ));
    let experiments = Experiments::new(std::sync::Arc::clone(&monitor));
    let total = bachata_common::experiments::MAX_REPORTED + 7;
    for i in 0..total {
        experiments
            .create(&policy, definition(&format!("e{i:03}")))
            .expect("create");
    }
    let report = experiments.report(&policy, 7).expect("report");
    assert_eq!(
        report.experiments.len(),
        bachata_common::experiments::MAX_REPORTED
    );
    assert_eq!(report.experiments_omitted, 7);
    assert!(report.to_html().contains("7 more running experiment(s)"));
}
