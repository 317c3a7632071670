//! Assignments of many units at once: `experiments assign` with units from a file or a pipe,
//! `POST /v1/experiments/{id}/assignments` and `Experiments::assign_many`. Each answers what
//! one-by-one assignment answers, logs each unit's exposure once, and a unit at fault refuses
//! its whole batch with nothing logged.

use std::io::Write as _;
use std::process::Stdio;

use bachata_common_tests::Sandbox;
use serde_json::{Value, json};

fn create(sandbox: &Sandbox) {
    let run = sandbox.run(&[
        "experiments",
        "create",
        "--id",
        "t1",
        "--start",
        "2020-01-01",
        "--end",
        "2099-12-31",
        "--versions",
        "a,b",
        "--metrics",
        "like_rate",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
}

/// Units exposed so far (the analysis counts each once).
fn exposed(sandbox: &Sandbox) -> u64 {
    let run = sandbox.run(&["experiments", "analyze", "t1", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    run.json()["arms"]
        .as_array()
        .expect("arms")
        .iter()
        .map(|arm| arm["units"].as_u64().unwrap_or(0))
        .sum()
}

/// `experiments assign t1 --units-from PATH`.
fn assign_from(sandbox: &Sandbox, path: &std::path::Path) -> bachata_common_tests::Run {
    let path = path.to_str().expect("utf-8 path");
    sandbox.run(&["experiments", "assign", "t1", "--units-from", path])
}

fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

#[test]
fn the_cli_assigns_units_from_arguments_a_file_and_a_pipe_in_order() {
    let sandbox = Sandbox::new();
    create(&sandbox);
    let one_by_one: Vec<Value> = ["u1", "u2", "u3"]
        .iter()
        .map(|unit| {
            let run = sandbox.run(&["experiments", "assign", "t1", unit, "--json"]);
            assert_eq!(run.code, 0, "{run:?}");
            run.json()
        })
        .collect();
    // 12,000 units (two batches), an empty line, CRLF endings and a repeated unit.
    let mut text = String::from("u1\r\n\n");
    for i in 0..12_000 {
        text.push_str(&format!("user-{i}\n"));
    }
    text.push_str("u2\nu3");
    let file = sandbox.write("units.txt", &text);
    let file = file.to_str().expect("utf-8 path");
    let run = sandbox.run(&[
        "experiments",
        "assign",
        "t1",
        "u0",
        "--units-from",
        file,
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let answers = lines(&run.stdout);
    assert_eq!(answers.len(), 12_004);
    assert_eq!(answers[0]["unit"], "u0");
    assert_eq!(
        answers[1], one_by_one[0],
        "a batch answers what one call answers"
    );
    assert_eq!(answers[2]["unit"], "user-0");
    assert_eq!(answers[12_002], one_by_one[1]);
    assert_eq!(answers[12_003], one_by_one[2]);
    assert_eq!(
        exposed(&sandbox),
        12_004,
        "u1 to u3 once each, u0, 12,000 users"
    );

    // The same units again log nothing new.
    let again = sandbox.run(&[
        "experiments",
        "assign",
        "t1",
        "--units-from",
        file,
        "--json",
    ]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        lines(&again.stdout) == answers[1..],
        "the same answers the second time"
    );
    assert_eq!(exposed(&sandbox), 12_004);

    // From a pipe, in text form.
    let mut child = sandbox
        .command(&["experiments", "assign", "t1", "--units-from", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"p1\np2\n")
        .expect("write");
    let output = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let units: Vec<&str> = stdout
        .lines()
        .map(|line| line.split('\t').next().unwrap_or_default())
        .collect();
    assert_eq!(units, ["p1", "p2"]);
    assert_eq!(exposed(&sandbox), 12_006);
}

#[test]
fn a_unit_at_fault_refuses_its_batch_naming_its_line_and_logs_nothing() {
    let sandbox = Sandbox::new();
    create(&sandbox);
    let file = sandbox.write("units.txt", "good-1\ngood-2\nbad\u{1}unit\n");
    let run = assign_from(&sandbox, &file);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("units.txt, line 3"), "{}", run.stderr);
    assert_eq!(exposed(&sandbox), 0);

    let long = sandbox.write("long.txt", "x".repeat(5_000));
    let run = assign_from(&sandbox, &long);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("line 1"), "{}", run.stderr);

    let binary = sandbox.write("binary.txt", b"ok\n\xff\xfe\n");
    let run = assign_from(&sandbox, &binary);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("line 2: not UTF-8"), "{}", run.stderr);

    for special in ["/dev/zero", "/"] {
        let run = sandbox.run(&["experiments", "assign", "t1", "--units-from", special]);
        assert_eq!(run.code, 2, "{special}: {run:?}");
        assert!(
            run.stderr.contains("give a file of unit ids"),
            "{}",
            run.stderr
        );
    }
    let run = sandbox.run(&["experiments", "assign", "t1", "bad\u{7f}"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("unit 1:"), "{}", run.stderr);
    assert_eq!(exposed(&sandbox), 0);
}

#[test]
fn the_assignments_endpoint_answers_in_order_and_refuses_a_batch_whole() {
    let mut sandbox = Sandbox::new();
    sandbox.env("BACHATA_LISTEN", "127.0.0.1:0");
    create(&sandbox);
    let daemon = sandbox.daemon();
    let client = reqwest::blocking::Client::new();
    let url = daemon.url("/v1/experiments/t1/assignments");
    // A POST of `body` to `to`, with `site` as `Sec-Fetch-Site` when given.
    let post_to = |to: &str, body: &Value, site: Option<&str>| {
        let mut request = client
            .post(to)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        let response = request.send().expect("post");
        let status = response.status().as_u16();
        (status, response.json::<Value>().unwrap_or(Value::Null))
    };
    let post = |body: &Value| post_to(&url, body, None);
    let units: Vec<String> = (0..2_000).map(|i| format!("web-{i}")).collect();
    let (status, body) = post(&json!({ "units": units }));
    assert_eq!(status, 200, "{body}");
    let assignments = body["assignments"].as_array().expect("assignments");
    assert_eq!(assignments.len(), 2_000);
    for (unit, assignment) in units.iter().zip(assignments).step_by(40) {
        assert_eq!(assignment["unit"], unit.as_str());
        let one = client
            .get(daemon.url(&format!("/v1/experiments/t1/assignment?unit={unit}")))
            .send()
            .expect("get")
            .json::<Value>()
            .expect("json");
        assert_eq!(&one, assignment);
    }

    for (body, field) in [
        (json!({"units": ["ok", "bad\u{1}"]}), "units[1]"),
        (json!({"units": []}), "units"),
        (json!({ "units": vec!["u"; 10_001] }), "units"),
        (json!({"units": ["a"], "extra": 1}), "body"),
        (json!({"units": "a"}), "body"),
        (json!([["a", "b"]]), "body"),
    ] {
        let (status, problem) = post(&body);
        assert_eq!(status, 400, "{problem}");
        assert_eq!(problem["details"]["field"], field, "{problem}");
    }
    let unknown = daemon.url("/v1/experiments/nope/assignments");
    assert_eq!(post_to(&unknown, &json!({"units": ["a"]}), None).0, 404);
    assert_eq!(
        post_to(&url, &json!({"units": ["x"]}), Some("cross-site")).0,
        403,
        "a page elsewhere cannot log exposures"
    );
    drop(daemon);
    assert_eq!(
        exposed(&sandbox),
        2_000,
        "only the accepted batch was logged"
    );
}

#[test]
fn the_output_is_checked_printed_safely_and_the_file_read_as_written() {
    let sandbox = Sandbox::new();
    create(&sandbox);
    // A full disk (or a closed pipe) fails the command; what was assigned stays logged.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let output = sandbox
        .command(&["experiments", "assign", "t1", "w1", "w2"])
        .stdout(full)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write standard output"), "{stderr}");
    assert_eq!(exposed(&sandbox), 2);

    // A byte-order mark is not part of the first unit; a line of spaces is a unit; a
    // right-to-left override is printed escaped.
    let file = sandbox.write("bom.txt", "\u{feff}user-7\r\n  \nuser-7\n\u{202e}evil\n");
    let run = assign_from(&sandbox, &file);
    assert_eq!(run.code, 0, "{run:?}");
    let units: Vec<&str> = run
        .stdout
        .lines()
        .map(|line| line.split('\t').next().unwrap_or_default())
        .collect();
    assert_eq!(units.len(), 4, "{}", run.stdout);
    assert_eq!(units[0], "user-7");
    assert_eq!(units[1], "  ");
    assert_eq!(units[2], "user-7");
    assert!(!run.stdout.contains('\u{202e}'), "{}", run.stdout);
    assert_eq!(
        exposed(&sandbox),
        5,
        "w1, w2, user-7, the spaces, the override"
    );
}

#[test]
fn a_definition_replaced_during_a_batch_never_gives_exposures_another_meaning() {
    use std::sync::Arc;

    use bachata_common::Policy;
    use bachata_common::config::{Database, MonitorSettings};
    use bachata_common::experiments::{Definition, Experiments};
    use bachata_common::monitor::Monitor;

    let dir = tempfile::tempdir().expect("dir");
    let monitor = Arc::new(
        Monitor::open(&MonitorSettings {
            database: Database::new(dir.path().join("m.sqlite3").display().to_string()),
            retention_days: 90,
        })
        .expect("open"),
    );
    let experiments = Arc::new(Experiments::new(monitor));
    let policy = Policy::embedded().expect("policy");
    let definition = |versions: [&str; 2]| -> Definition {
        Definition::from_json(
            &json!({
                "test_id": "race", "test_name": "Race", "start_date": "2020-01-01",
                "end_date": "2099-12-31", "algorithm_versions": versions,
                "traffic_split": {"a": 0.5, "b": 0.5}, "success_metrics": ["like_rate"]
            })
            .to_string(),
        )
        .expect("definition")
    };
    experiments
        .create(&policy, definition(["a", "b"]))
        .expect("create");
    let units: Vec<String> = (0..20_000).map(|i| format!("r{i}")).collect();
    let assigner = {
        let (experiments, policy) = (Arc::clone(&experiments), policy.clone());
        std::thread::spawn(move || experiments.assign_many(&policy, "race", &units))
    };
    std::thread::sleep(std::time::Duration::from_millis(20));
    // Accepted only while nothing is exposed yet.
    let _ = experiments.replace(&policy, definition(["b", "a"]));
    let served = assigner.join().expect("no panic").expect("assigned");
    let stored = experiments.get("race").expect("get").definition;
    for assignment in served.iter().step_by(97) {
        assert_eq!(
            stored.algorithm_versions[assignment.variation as usize], assignment.version,
            "{assignment:?}"
        );
    }
}
