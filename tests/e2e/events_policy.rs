//! The monitor's event rules as a policy decides them (`events`): an answer the store cannot
//! hold is the policy's fault and stores nothing, a long batch is checked in parts that fit
//! the policy's memory, and the policy's words reach the client whichever way it sends.

use bachata_common_tests::{Sandbox, test_policy};
use serde_json::{Value, json};

fn text(path: &std::path::Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn log_decision(sandbox: &Sandbox, policy: Option<&str>, song: &str) -> bachata_common_tests::Run {
    let mut args = Vec::new();
    if let Some(policy) = policy {
        args.extend(["--policy", policy]);
    }
    args.extend([
        "monitor",
        "log-decision",
        "--song",
        song,
        "--moves",
        "basic,spin",
        "--scores",
        "0.9,0.4",
        "--processing-ms",
        "12",
        "--json",
    ]);
    sandbox.run(&args)
}

fn stored_decisions(sandbox: &Sandbox) -> u64 {
    let metrics = sandbox.run(&["monitor", "metrics", "--json"]);
    assert_eq!(metrics.code, 0, "{metrics:?}");
    metrics.json()["total_recommendations"]
        .as_u64()
        .expect("a count")
}

#[test]
fn an_answer_the_store_cannot_hold_is_the_policys_fault_and_stores_nothing() {
    let sandbox = Sandbox::new();
    let liar = test_policy("events_liar");
    for lie in [
        "inf-time",
        "negative-time",
        "nan-score",
        "far-future",
        "bad-nanos",
        "empty-id",
        "nul-move",
        "fewer-scores",
    ] {
        let run = log_decision(&sandbox, Some(text(&liar)), lie);
        assert_ne!(run.code, 0, "{lie}: {run:?}");
        assert!(
            run.stderr
                .contains("was stopped in `events.check-decisions`"),
            "{lie}: {}",
            run.stderr
        );
    }
    // A non-validation error for a rule's failure breaks the contract too.
    let run = log_decision(&sandbox, Some(text(&liar)), "not-validation");
    assert!(
        run.stderr.contains("answered a RESOURCE_ERROR"),
        "{}",
        run.stderr
    );
    // Nothing was stored, and the store still reads (no day's totals were broken).
    assert_eq!(stored_decisions(&sandbox), 0);
    assert_eq!(log_decision(&sandbox, None, "Obsesión").code, 0);
    assert_eq!(stored_decisions(&sandbox), 1);
    // A refusal worded as an outage would have clients retry forever: a violation instead.
    let feedback = sandbox.run(&[
        "--policy",
        text(&liar),
        "monitor",
        "log-feedback",
        "--decision",
        "outage",
        "--type",
        "like",
    ]);
    assert!(
        feedback.stderr.contains("was stopped in `events.refused`"),
        "{feedback:?}"
    );
    // The self-check finds a policy whose rules refuse a plain decision before a daemon
    // would take it.
    let strict = test_policy("events_strict");
    let check = sandbox.run(&["policy", "check", text(&strict)]);
    assert_ne!(check.code, 0, "{check:?}");
    assert!(
        check.stderr.contains("events.check-decisions")
            && check.stderr.contains("no decision is good enough"),
        "{}",
        check.stderr
    );
}

#[test]
fn over_http_a_liar_is_a_server_error_and_the_day_stays_readable() {
    let mut sandbox = Sandbox::new();
    let liar = test_policy("events_liar");
    sandbox
        .env("BACHATA_LISTEN", "127.0.0.1:0")
        .env("BACHATA_POLICY", text(&liar));
    let daemon = sandbox.daemon();
    let client = reqwest::blocking::Client::new();
    let post = |song: &str| {
        let response = client
            .post(daemon.url("/v1/decisions"))
            .header("content-type", "application/json")
            .body(
                json!({"input_song": song, "recommended_moves": ["basic"],
                       "recommendation_scores": [0.5], "processing_time_ms": 3.0})
                .to_string(),
            )
            .send()
            .expect("post");
        (
            response.status().as_u16(),
            response.json::<Value>().unwrap_or(Value::Null),
        )
    };
    let (status, body) = post("inf-time");
    assert_eq!(status, 500, "{body}");
    let (status, body) = post("Obsesión");
    assert_eq!(status, 201, "{body}");
    let metrics: Value = client
        .get(daemon.url("/v1/metrics/performance"))
        .send()
        .expect("metrics")
        .json()
        .expect("json");
    assert_eq!(metrics["total_recommendations"], 1, "{metrics}");
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_import_of_large_valid_events_is_checked_in_parts_that_fit_the_policy() {
    let sandbox = Sandbox::new();
    // 1,000 events of 1,000 moves and 256 text features each (about 8 MiB): valid, and more
    // than one call of the policy can hold within its memory cap.
    let moves: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    let features: serde_json::Map<String, Value> =
        (0..256).map(|i| (format!("f{i}"), json!("x"))).collect();
    let mut lines = String::new();
    for i in 0..1000 {
        let event = json!({"decision_id": format!("big-{i}"), "input_song": "Obsesión",
            "recommended_moves": moves, "recommendation_scores": vec![0.5; 1000],
            "processing_time_ms": 10.0, "song_features": features});
        lines.push_str(&event.to_string());
        lines.push('\n');
    }
    // The last line breaks a rule: its line is named.
    lines.push_str(
        &json!({"input_song": " ", "recommended_moves": [], "recommendation_scores": [],
        "processing_time_ms": 1.0})
        .to_string(),
    );
    lines.push('\n');
    let path = sandbox.write("big.jsonl", &lines);
    let run = sandbox.run(&["monitor", "log-decision", "--from", text(&path)]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("line 1001: input_song must not be empty"),
        "{}",
        run.stderr
    );
    let first = lines.lines().take(1000).collect::<Vec<_>>().join("\n");
    let path = sandbox.write("big.jsonl", first + "\n");
    let run = sandbox.run(&["monitor", "log-decision", "--from", text(&path), "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["stored"], 1000);
}

#[test]
fn an_import_conflict_names_its_line() {
    let sandbox = Sandbox::new();
    let event = |i: usize, ms: f64| {
        json!({"decision_id": format!("d-{i}"), "input_song": "Obsesión", "recommended_moves": ["basic"],
               "recommendation_scores": [0.5], "processing_time_ms": ms})
        .to_string()
    };
    let path = sandbox.write("first.jsonl", format!("{}\n", event(7, 1.0)));
    assert_eq!(
        sandbox
            .run(&["monitor", "log-decision", "--from", text(&path)])
            .code,
        0
    );
    let lines: Vec<String> = (0..1500)
        .map(|i| event(i, if i == 7 { 2.0 } else { 1.0 }))
        .collect();
    let path = sandbox.write("second.jsonl", lines.join("\n") + "\n");
    let run = sandbox.run(&["monitor", "log-decision", "--from", text(&path)]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(
            "line 8: decision_id \"d-7\" is already stored with other content; nothing was stored"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_leap_second_counts_on_its_own_day_and_decimals_read_as_the_nearest_double() {
    let sandbox = Sandbox::new();
    let event = json!({"decision_id": "leap", "timestamp": "2016-12-31T23:59:60Z",
        "input_song": "Obsesión", "recommended_moves": ["basic"], "recommendation_scores": [0.5],
        "processing_time_ms": 1.0});
    let path = sandbox.write("leap.jsonl", format!("{event}\n"));
    let run = sandbox.run(&["monitor", "log-decision", "--from", text(&path)]);
    assert_eq!(run.code, 0, "{run:?}");
    // In the library: the last instant of 2016, not the first of 2017.
    let input: bachata_common::monitor::DecisionInput =
        serde_json::from_value(event).expect("an event");
    let policy = bachata_common::Policy::shared().expect("policy");
    let checked = policy
        .check_decisions(vec![input], chrono::Utc::now(), false)
        .expect("valid");
    assert_eq!(
        checked[0].timestamp.to_rfc3339(),
        "2016-12-31T23:59:59.999999999+00:00"
    );
    // 1000000000.0000001 is above 1e9 (as every other JSON reader reads it): refused.
    let path = sandbox.write(
        "above.jsonl",
        "{\"input_song\": \"Obsesión\", \"recommended_moves\": [\"basic\"], \
         \"recommendation_scores\": [1000000000.0000001], \"processing_time_ms\": 1.0}\n",
    );
    let run = sandbox.run(&["monitor", "log-decision", "--from", text(&path)]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("recommendation_scores[0] must be a number from -1e9 to 1e9"),
        "{}",
        run.stderr
    );
}
