//! The performance monitor through the daemon's HTTP API and the CLI: batches, retries,
//! validation problems, the token rule, metrics and reports, Prometheus counters, a second
//! process on the same SQLite file, and two daemons writing to one PostgreSQL.

use bachata_common_tests::Sandbox;
use bachata_common_tests::databases::postgres_database;
use serde_json::{Value, json};

fn sandbox() -> Sandbox {
    let mut sandbox = Sandbox::new();
    sandbox.env("BACHATA_LISTEN", "127.0.0.1:0");
    sandbox
}

fn decision(id: &str, version: &str, ms: f64) -> Value {
    json!({
        "decision_id": id,
        "input_song": "Propuesta Indecente",
        "recommended_moves": ["basic", "cross_body_lead", "dip"],
        "recommendation_scores": [0.9, 0.7, 0.4],
        "algorithm_version": version,
        "weights_used": {"tempo": 0.6, "energy": 0.4},
        "processing_time_ms": ms,
        "song_features": {"bpm": 128, "key": "A minor"},
    })
}

fn post(client: &reqwest::blocking::Client, url: &str, body: &Value) -> (u16, Value) {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .expect("post");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

#[test]
fn events_metrics_and_reports_over_http() {
    let sandbox = sandbox();
    let daemon = sandbox.daemon();
    let client = reqwest::blocking::Client::new();
    let decisions = daemon.url("/v1/decisions");
    let feedback = daemon.url("/v1/feedback");

    let (status, body) = post(&client, &decisions, &decision("d-1", "1.0", 12.0));
    assert_eq!((status, &body["stored"]), (201, &json!(true)), "{body}");
    // A client's retry: stored once.
    let (status, body) = post(&client, &decisions, &decision("d-1", "1.0", 12.0));
    assert_eq!((status, &body["stored"]), (200, &json!(false)), "{body}");
    let batch = json!([
        decision("d-2", "1.0", 20.0),
        decision("d-3", "2.0", 40.0),
        decision("d-1", "1.0", 12.0)
    ]);
    let (status, body) = post(&client, &decisions, &batch);
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (&body["stored"], &body["duplicates"]),
        (&json!(2), &json!(1))
    );

    let events = json!([
        {"feedback_id": "f-1", "decision_id": "d-1", "feedback_type": "like", "move_id": "dip"},
        {"feedback_id": "f-2", "decision_id": "d-2", "feedback_type": "rating", "feedback_value": 4},
        {"feedback_id": "f-3", "decision_id": "d-3", "feedback_type": "skip"},
    ]);
    let (status, body) = post(&client, &feedback, &events);
    assert_eq!((status, &body["stored"]), (201, &json!(3)), "{body}");

    // Bad input: a VALIDATION_ERROR problem naming the field, nothing stored.
    let mut bad = decision("d-9", "1.0", 5.0);
    bad["recommendation_scores"] = json!([0.5]);
    for (body, field) in [
        (
            json!([decision("d-8", "1.0", 5.0), bad]),
            "[1].recommendation_scores",
        ),
        (
            json!({"decision_id": "d-7", "input_song": "x", "recommended_moves": ["a"], "recommendation_scores": ["high"], "processing_time_ms": 1}),
            "recommendation_scores[0]",
        ),
        (
            json!({"decision_id": "../../etc", "input_song": "x", "recommended_moves": [], "recommendation_scores": [], "processing_time_ms": 1}),
            "decision_id",
        ),
    ] {
        let (status, problem) = post(&client, &decisions, &body);
        assert_eq!(status, 400, "{problem}");
        assert_eq!(problem["error_code"], "VALIDATION_ERROR", "{problem}");
        assert_eq!(problem["details"]["field"], field, "{problem}");
    }
    for (body, field) in [
        (
            json!({"decision_id": "nope", "feedback_type": "like"}),
            "decision_id",
        ),
        (
            json!({"decision_id": "d-1", "feedback_type": "rating", "feedback_value": 9}),
            "feedback_value",
        ),
        (
            json!({"decision_id": "d-1", "feedback_type": "meh"}),
            "feedback_type",
        ),
        (
            json!({"decision_id": "d-1", "feedback_type": "like", "move_id": "spin"}),
            "move_id",
        ),
    ] {
        let (status, problem) = post(&client, &feedback, &body);
        assert_eq!(
            (status, &problem["details"]["field"]),
            (400, &json!(field)),
            "{problem}"
        );
    }
    let nan = client
        .post(&decisions)
        .header("content-type", "application/json")
        .body(r#"{"input_song": "x", "recommended_moves": ["a"], "recommendation_scores": [NaN], "processing_time_ms": 1}"#)
        .send()
        .expect("NaN");
    assert_eq!(nan.status(), 400);
    // A body declared over the limit is refused from its head alone: the daemon answers
    // without reading it (a client still writing it may then see the connection close).
    let huge = {
        use std::io::{Read, Write};
        let address = daemon.base.trim_start_matches("http://").to_string();
        let mut stream = std::net::TcpStream::connect(&address).expect("connect");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .expect("timeout");
        write!(
            stream,
            "POST /v1/decisions HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            10 << 20
        )
        .expect("head");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    };
    assert!(huge.starts_with("HTTP/1.1 413"), "{huge}");
    let body = huge.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    let problem: Value = serde_json::from_str(body).expect("problem");
    assert_eq!(
        (&problem["error_code"], &problem["details"]["field"]),
        (&json!("VALIDATION_ERROR"), &json!("body"))
    );

    let metrics: Value = client
        .get(daemon.url("/v1/metrics/performance?days=7&k=3"))
        .send()
        .expect("metrics")
        .json()
        .expect("json");
    assert_eq!(metrics["total_recommendations"], 3, "{metrics}");
    assert_eq!(metrics["feedback_count"], 3);
    assert_eq!(metrics["ranking"]["k"], 3);
    assert!(metrics["by_version"]["2.0"].is_object());
    let one: Value = client
        .get(daemon.url("/v1/metrics/performance?version=2.0"))
        .send()
        .expect("metrics")
        .json()
        .expect("json");
    assert_eq!(one["total_recommendations"], 1);
    let bad = client
        .get(daemon.url("/v1/metrics/performance?days=0"))
        .send()
        .expect("bad days");
    assert_eq!(bad.status(), 400);
    let problem: Value = bad.json().expect("problem");
    assert_eq!(problem["details"]["field"], "days");

    let report: Value = client
        .get(daemon.url("/v1/report?days=7"))
        .send()
        .expect("report")
        .json()
        .expect("json");
    assert_eq!(report["report_period"]["days"], 7);
    assert_eq!(report["daily_metrics"].as_array().map(Vec::len), Some(7));
    assert_eq!(report["top_recommended_moves"][0]["name"], "basic");
    assert!(report["feedback_trends"]["totals"].is_array());
    let page = client
        .get(daemon.url("/report?days=7"))
        .send()
        .expect("page");
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/html")
    );
    let html = page.text().expect("html");
    assert!(html.contains("<svg") && !html.contains("<script"));

    let text = daemon.metrics();
    assert!(
        text.contains(r#"bachata_common_decisions_total{algorithm_version="1.0"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"bachata_common_decisions_total{algorithm_version="2.0"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"bachata_common_feedback_total{type="like"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("bachata_common_decision_processing_seconds_count 3"),
        "{text}"
    );
}

#[test]
fn the_token_rule_of_cleanup_applies_to_events() {
    let mut sandbox = sandbox();
    sandbox.env("BACHATA_API_TOKEN", "s3cret-token-value");
    let daemon = sandbox.daemon();
    let client = reqwest::blocking::Client::new();
    let (status, _) = post(
        &client,
        &daemon.url("/v1/decisions"),
        &decision("d-1", "1.0", 1.0),
    );
    assert_eq!(status, 401);
    let response = client
        .post(daemon.url("/v1/decisions"))
        .bearer_auth("s3cret-token-value")
        .header("content-type", "application/json")
        .body(decision("d-1", "1.0", 1.0).to_string())
        .send()
        .expect("with token");
    assert_eq!(response.status(), 201);
}

#[test]
fn the_cli_logs_events_and_a_second_process_sees_them() {
    let sandbox = sandbox();
    let run = sandbox.run(&[
        "monitor",
        "log-decision",
        "--id",
        "d-1",
        "--song",
        "Obsesión",
        "--moves",
        "basic,spin",
        "--scores",
        "0.9,0.5",
        "--processing-ms",
        "25",
        "--version",
        "2.1",
        "--weight",
        "tempo=0.5",
        "--feature",
        "key=A minor",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(run.json()["stored"], true);
    let run = sandbox.run(&[
        "monitor",
        "log-feedback",
        "--decision",
        "d-1",
        "--type",
        "rating",
        "--value",
        "9",
    ]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(run.error_line().contains("rating"), "{}", run.error_line());
    let lines = "{\"decision_id\": \"d-1\", \"feedback_type\": \"use\", \"move_id\": \"spin\"}\n\n{\"decision_id\": \"d-1\", \"feedback_type\": \"like\"}\n";
    sandbox.write("feedback.jsonl", lines);
    let run = sandbox.run(&[
        "monitor",
        "log-feedback",
        "--from",
        "feedback.jsonl",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(run.json()["stored"], 2);
    sandbox.write(
        "bad.jsonl",
        "{\"decision_id\": \"d-1\", \"feedback_type\": \"like\"}\n{\"decision_id\": 5}\n",
    );
    let run = sandbox.run(&["monitor", "log-feedback", "--from", "bad.jsonl"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(run.all_output().contains("line 2"), "{}", run.all_output());

    // Another process reads what these stored.
    let run = sandbox.run(&["monitor", "metrics", "--json", "--version", "2.1"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let metrics = run.json();
    assert_eq!(metrics["total_recommendations"], 1);
    assert_eq!(
        metrics["feedback_count"], 2,
        "the malformed file stored nothing"
    );
    assert_eq!(metrics["user_satisfaction_score"], 1.0);
    assert!(sandbox.path().join("data/monitor.sqlite3").is_file());

    let run = sandbox.run(&["monitor", "report", "--days", "3", "--html", "report.html"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let html = std::fs::read_to_string(sandbox.path().join("report.html")).expect("page");
    assert!(html.contains("<svg"));
    let run = sandbox.run(&["monitor", "report", "--json"]);
    assert_eq!(run.json()["report_period"]["days"], 7);
    let run = sandbox.run(&["monitor", "metrics"]);
    assert!(run.stdout.contains("satisfaction"), "{}", run.stdout);
}

#[test]
fn two_daemons_writing_to_one_postgres_lose_nothing() {
    let Some(url) = postgres_database() else {
        return;
    };
    let daemons: Vec<_> = (0..2)
        .map(|_| {
            let mut sandbox = sandbox();
            sandbox.env("MONITOR_DATABASE", &url);
            let daemon = sandbox.daemon();
            (sandbox, daemon)
        })
        .collect();
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let url = daemons[t % 2].1.url("/v1/decisions");
            let other = daemons[(t + 1) % 2].1.url("/v1/decisions");
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                for batch in 0..10 {
                    let events: Vec<Value> = (0..20)
                        .map(|i| decision(&format!("t{t}-b{batch}-{i}"), "1.0", 5.0))
                        .collect();
                    let (status, body) = post(&client, &url, &json!(events));
                    assert_eq!(status, 201, "{body}");
                    // The same batch retried through the other daemon stores nothing.
                    let (status, body) = post(&client, &other, &json!(events));
                    assert_eq!((status, &body["stored"]), (200, &json!(0)), "{body}");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("client");
    }
    for (_, daemon) in &daemons {
        let metrics: Value = reqwest::blocking::get(daemon.url("/v1/metrics/performance"))
            .expect("metrics")
            .json()
            .expect("json");
        assert_eq!(metrics["total_recommendations"], 6 * 10 * 20, "{metrics}");
    }
}
