//! Experiments through the daemon's HTTP API and the CLI: create (once), replace, list,
//! assignment with its exposure, analysis, the report page, and refusals that store nothing.

use bachata_common_tests::Sandbox;
use serde_json::{Value, json};

fn sandbox() -> Sandbox {
    let mut sandbox = Sandbox::new();
    sandbox.env("BACHATA_LISTEN", "127.0.0.1:0");
    sandbox
}

fn definition() -> Value {
    json!({
        "test_id": "ranker-v2",
        "test_name": "New ranker <b>bold</b>",
        "start_date": "2020-01-01",
        "end_date": "2099-12-31",
        "algorithm_versions": ["1.0", "2.0"],
        "traffic_split": {"1.0": 0.5, "2.0": 0.5},
        "success_metrics": ["like_rate", "processing_time_ms"],
        "sequential": true
    })
}

fn send(request: reqwest::blocking::RequestBuilder, body: &Value) -> (u16, Value) {
    let response = request
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn get(client: &reqwest::blocking::Client, url: &str) -> (u16, Value) {
    let response = client.get(url).send().expect("get");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

#[test]
fn experiments_over_http() {
    let sandbox = sandbox();
    let daemon = sandbox.daemon();
    let client = reqwest::blocking::Client::new();
    let create = daemon.url("/v1/experiments");

    // Refused definitions: a problem naming the field, nothing stored.
    for (change, field) in [
        (
            json!({"traffic_split": {"1.0": 0.7, "2.0": 0.7}}),
            "traffic_split",
        ),
        (json!({"algorithm_versions": ["1.0"]}), "algorithm_versions"),
        (json!({"end_date": "2019-01-01"}), "end_date"),
        (json!({"success_metrics": ["revenue"]}), "success_metrics"),
        (json!({"coverage": "all"}), "coverage"),
        (json!({"unknown": 1}), "unknown"),
    ] {
        let mut body = definition();
        for (key, value) in change.as_object().expect("object") {
            body[key] = value.clone();
        }
        let (status, problem) = send(client.post(&create), &body);
        assert_eq!(status, 400, "{change}: {problem}");
        assert_eq!(problem["error_code"], "VALIDATION_ERROR", "{problem}");
        let named = problem["details"]["field"].as_str().unwrap_or_default();
        assert!(named.contains(field), "{change}: {problem}");
    }
    let (status, list) = get(&client, &create);
    assert_eq!((status, &list["experiments"]), (200, &json!([])));

    let (status, stored) = send(client.post(&create), &definition());
    assert_eq!(status, 201, "{stored}");
    assert_eq!(stored["seed"], "ranker-v2");
    assert_eq!(stored["hash_version"], 2);
    assert_eq!(stored["minimum_sample_size"], 150);
    let (status, _) = send(client.post(&create), &definition());
    assert_eq!(status, 200, "the same definition again");
    let mut other = definition();
    other["coverage"] = json!(0.5);
    let (status, _) = send(client.post(&create), &other);
    assert_eq!(status, 409, "another definition under the same key");
    let (status, replaced) = send(client.put(daemon.url("/v1/experiments/ranker-v2")), &other);
    assert_eq!(
        (status, &replaced["coverage"]),
        (200, &json!(0.5)),
        "{replaced}"
    );
    let (status, _) = send(client.put(daemon.url("/v1/experiments/other")), &other);
    assert_eq!(status, 400, "the body's key must be the path's");
    // A cross-origin write is refused before anything is read.
    let response = client
        .post(&create)
        .header("content-type", "application/json")
        .header("origin", "https://evil.example")
        .body(definition().to_string())
        .send()
        .expect("post");
    assert_eq!(response.status(), 403);

    // Assignment: the same variation every time, a stable bucket.
    let assignment = daemon.url("/v1/experiments/ranker-v2/assignment?unit=user-7");
    let (status, first) = get(&client, &assignment);
    assert_eq!(status, 200, "{first}");
    let (_, again) = get(&client, &assignment);
    assert_eq!(first, again);
    assert!(["1.0", "2.0"].contains(&first["version"].as_str().unwrap_or_default()));
    for (url, status) in [
        ("/v1/experiments/ranker-v2/assignment", 400),
        ("/v1/experiments/ranker-v2/assignment?unit=u&extra=1", 400),
        ("/v1/experiments/nope/assignment?unit=u", 404),
        (
            "/v1/experiments/ranker-v2/analysis?correction=bonferroni",
            400,
        ),
    ] {
        let (got, body) = get(&client, &daemon.url(url));
        assert_eq!(got, status, "{url}: {body}");
    }
    let response = client
        .get(&assignment)
        .header("sec-fetch-site", "cross-site")
        .send()
        .expect("get");
    assert_eq!(
        response.status(),
        403,
        "a page elsewhere cannot log exposures"
    );

    // Traffic for the analysis.
    for i in 0..40 {
        let (_, a) = get(
            &client,
            &daemon.url(&format!("/v1/experiments/ranker-v2/assignment?unit=u{i}")),
        );
        if a["in_experiment"] != true {
            continue;
        }
        let decision = json!({
            "decision_id": format!("d{i}"),
            "user_id": format!("u{i}"),
            "input_song": "Obsesión",
            "recommended_moves": ["basic"],
            "recommendation_scores": [0.9],
            "algorithm_version": a["version"],
            "processing_time_ms": 30.0 + f64::from(i % 7),
        });
        let (status, body) = send(client.post(daemon.url("/v1/decisions")), &decision);
        assert_eq!(status, 201, "{body}");
    }
    let (status, analysis) = get(
        &client,
        &daemon.url("/v1/experiments/ranker-v2/analysis?correction=holm_bonferroni"),
    );
    assert_eq!(status, 200, "{analysis}");
    assert_eq!(analysis["correction"], "holm_bonferroni");
    assert_eq!(analysis["sequential"], true);
    let units: u64 = analysis["arms"]
        .as_array()
        .expect("arms")
        .iter()
        .map(|arm| arm["units"].as_u64().unwrap_or(0))
        .sum();
    assert!(units >= 10, "{analysis}");
    assert_eq!(analysis["verdict"]["kind"], "not_enough_data");
    assert_eq!(analysis["comparisons"].as_array().map(Vec::len), Some(2));

    // The report page draws it; names from the data are escaped.
    let page = client
        .get(daemon.url("/report"))
        .send()
        .expect("report")
        .text()
        .expect("text");
    assert!(
        page.contains("id=\"experiment-ranker-v2\""),
        "experiment section"
    );
    assert!(
        page.contains("id=\"chart-effects-ranker-v2\""),
        "effects chart"
    );
    assert!(page.contains("id=\"srm-ranker-v2\""));
    assert!(page.contains("not enough data"));
    let (_, report) = get(&client, &daemon.url("/v1/report"));
    assert_eq!(report["experiments"][0]["test_id"], "ranker-v2");
}

#[test]
fn experiments_from_the_cli() {
    let sandbox = sandbox();
    let create = [
        "experiments",
        "create",
        "--id",
        "ranker-v2",
        "--start",
        "2020-01-01",
        "--end",
        "2099-12-31",
        "--versions",
        "1.0,2.0",
        "--split",
        "1.0=0.2,2.0=0.8",
        "--metrics",
        "like_rate,user_satisfaction",
        "--namespace",
        "ranking:0:1",
        "--json",
    ];
    let run = sandbox.run(&create);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(run.json()["traffic_split"], json!({"1.0": 0.2, "2.0": 0.8}));
    assert_eq!(run.json()["namespace"], json!(["ranking", 0.0, 1.0]));
    // Again: nothing changes.
    assert_eq!(sandbox.run(&create).code, 0);

    let bad = sandbox.run(&[
        "experiments",
        "create",
        "--id",
        "broken",
        "--start",
        "2026-12-10",
        "--end",
        "2026-12-01",
        "--versions",
        "1.0,2.0",
        "--metrics",
        "like_rate",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.all_output());
    assert!(
        bad.error_line().contains("end_date"),
        "{}",
        bad.error_line()
    );
    sandbox.write("definition.json", definition().to_string());
    let run = sandbox.run(&["experiments", "create", "--from", "definition.json"]);
    assert_eq!(run.code, 2, "ranker-v2 exists with another definition");
    let run = sandbox.run(&[
        "experiments",
        "create",
        "--from",
        "definition.json",
        "--replace",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(run.json()["sequential"], true);

    let run = sandbox.run(&["experiments", "list", "--json"]);
    assert_eq!(run.json()["experiments"].as_array().map(Vec::len), Some(1));
    let run = sandbox.run(&[
        "experiments",
        "assign",
        "ranker-v2",
        "alice",
        "bob",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["unit"], "alice");
    let run = sandbox.run(&["experiments", "analyze", "ranker-v2", "--json"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let units: u64 = run.json()["arms"]
        .as_array()
        .expect("arms")
        .iter()
        .map(|arm| arm["units"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(units, 2);
    let run = sandbox.run(&["experiments", "analyze", "ranker-v2"]);
    assert!(run.stdout.contains("not enough data"), "{}", run.stdout);
    let run = sandbox.run(&["experiments", "analyze", "missing"]);
    assert_eq!(run.code, 2);
    let metrics = sandbox.run(&["experiments", "metrics", "--json"]).json();
    let names: Vec<&str> = metrics["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    for wanted in [
        "user_satisfaction",
        "like_rate",
        "use_rate",
        "skip_rate",
        "mean_rating",
        "processing_time_ms",
    ] {
        assert!(names.contains(&wanted), "{wanted}");
    }
}

#[test]
fn of_concurrent_identical_creations_exactly_one_answers_201() {
    let sandbox = sandbox();
    let daemon = sandbox.daemon();
    let url = daemon.url("/v1/experiments");
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|_| {
                let url = url.clone();
                scope.spawn(move || {
                    send(reqwest::blocking::Client::new().post(&url), &definition()).0
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("client"))
            .collect()
    });
    assert_eq!(
        statuses.iter().filter(|status| **status == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|status| [200, 201].contains(status)),
        "{statuses:?}"
    );
}
