//! The daemon's OpenAPI document (`host/openapi.json`, served at `GET /openapi.json`): it lists
//! exactly the routes of the router (a route without documentation fails here), its examples
//! fit their schemas and are accepted, and real answers — successes, refusals and problem
//! documents — have a documented status, media type, headers and a body that fits the schema.

use std::collections::BTreeSet;
use std::path::Path;

use bachata_common_tests::{Daemon, Sandbox, age};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};

const TOKEN: &str = "openapi-test-token-0123456789";
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn repository_document() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("host/openapi.json"))
        .expect("host/openapi.json is JSON")
}

/// The `(METHOD, path)` pairs `router()` in `daemon/http/mod.rs` declares, read from its source.
fn router_routes() -> BTreeSet<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/src/daemon/http/mod.rs");
    let source = std::fs::read_to_string(path).expect("daemon/http/mod.rs");
    let start = source
        .find("pub fn router(")
        .expect("router() in daemon/http/mod.rs");
    let body = &source[start..];
    let body = &body[..body
        .find(".fallback(")
        .expect("router() ends with its fallback")];
    for other in [".nest(", ".merge(", ".route_service(", ".nest_service("] {
        assert!(
            !body.contains(other),
            "router() uses {other}: teach this test to read those routes"
        );
    }
    let mut routes = BTreeSet::new();
    for call in body.split(".route(").skip(1) {
        let path = call
            .split('"')
            .nth(1)
            .expect("a route's path is a string literal");
        let handlers = &call[call.find(path).expect("path") + path.len()..];
        let mut methods = Vec::new();
        for (at, _) in handlers.match_indices('(') {
            let word: String = handlers[..at]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let before = handlers[..at - word.len()].chars().next_back();
            if METHODS.contains(&word.as_str()) && before != Some(':') {
                methods.push(word.to_ascii_uppercase());
            }
        }
        assert!(!methods.is_empty(), "no method read for route {path}");
        routes.extend(methods.into_iter().map(|method| (method, path.to_string())));
    }
    routes
}

/// The `(METHOD, path)` pairs the document describes.
fn documented_routes(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|method| item.get(**method).is_some())
                .map(|method| (method.to_ascii_uppercase(), path.clone()))
        })
        .collect()
}

/// The document, with a way to check an answer against it.
struct Spec {
    document: Value,
}

impl Spec {
    /// Checks `instance` against `schema` (inline, or a `$ref` into the components): the
    /// errors found.
    fn errors(&self, schema: &Value, instance: &Value) -> Vec<String> {
        let mut root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.document["components"],
        });
        for (key, value) in schema.as_object().expect("a schema object") {
            root[key] = value.clone();
        }
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|error| panic!("{schema}: the schema does not compile: {error}"));
        validator
            .iter_errors(instance)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect()
    }

    /// Asserts that `instance` fits `schema`.
    fn validate(&self, schema: &Value, instance: &Value, what: &str) {
        let errors = self.errors(schema, instance);
        assert!(
            errors.is_empty(),
            "{what} does not fit its schema: {errors:#?}\n{instance:#}"
        );
    }

    fn component(&self, name: &str) -> Value {
        json!({ "$ref": format!("#/components/schemas/{name}") })
    }

    /// The documented response of `method template` for `status`, its `$ref` followed.
    fn response(&self, method: &str, template: &str, status: u16) -> &Value {
        let operation = &self.document["paths"][template][method.to_ascii_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {template} is not in the document"
        );
        let responses = &operation["responses"];
        let entry = responses
            .get(status.to_string())
            .or_else(|| responses.get("default"))
            .unwrap_or_else(|| panic!("{method} {template} answered {status}, not documented"));
        match entry["$ref"].as_str() {
            Some(reference) => {
                let name = reference
                    .strip_prefix("#/components/responses/")
                    .expect("a response reference");
                &self.document["components"]["responses"][name]
            }
            None => entry,
        }
    }

    /// Sends `request` and checks the answer against the document: a documented status, media
    /// type and headers, and a body that fits the schema. Returns the status and the body.
    fn check(&self, method: &str, template: &str, request: RequestBuilder) -> (u16, Value) {
        let answer = request.send().expect("request");
        self.check_answer(method, template, answer)
    }

    fn check_answer(&self, method: &str, template: &str, answer: Response) -> (u16, Value) {
        let status = answer.status().as_u16();
        let media_type = answer
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let documented = self.response(method, template, status).clone();
        let what = format!("{method} {template} → {status} {media_type}");
        if let Some(headers) = documented["headers"].as_object() {
            for (name, header) in headers {
                if header["required"] == json!(true) {
                    assert!(
                        answer.headers().contains_key(name.as_str()),
                        "{what}: header {name} missing"
                    );
                }
            }
        }
        let text = answer.text().expect("body");
        let content = &documented["content"][&media_type];
        assert!(
            content.is_object(),
            "{what}: media type not documented (documented: {})",
            documented["content"]
        );
        let body = if media_type == "application/json" || media_type.ends_with("+json") {
            let body: Value = serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("{what}: not JSON ({error}): {text}"));
            self.validate(&content["schema"], &body, &what);
            body
        } else if media_type == "application/x-ndjson" {
            let lines: Vec<Value> = text
                .lines()
                .map(|line| serde_json::from_str(line).expect("a JSON line"))
                .collect();
            let (last, removals) = lines.split_last().expect("at least the report line");
            for line in removals {
                self.validate(&self.component("RemovalLine"), line, &what);
            }
            self.validate(&self.component("RemovalsLogEnd"), last, &what);
            Value::Array(lines)
        } else {
            Value::String(text)
        };
        (status, body)
    }
}

fn start() -> (Sandbox, Daemon, Spec) {
    let mut sandbox = Sandbox::new();
    sandbox
        .env("BACHATA_LISTEN", "127.0.0.1:0")
        .env("BACHATA_API_TOKEN", TOKEN);
    // A stale file, for the removals log to list.
    let old = sandbox.path().join("data/temp/old.bin");
    std::fs::create_dir_all(old.parent().expect("parent")).expect("mkdir");
    std::fs::write(&old, b"stale").expect("write an old file");
    age(&old, 48);
    let daemon = sandbox.daemon();
    let spec = Spec {
        document: repository_document(),
    };
    (sandbox, daemon, spec)
}

#[test]
fn the_document_lists_exactly_the_routes_of_the_router() {
    let (_sandbox, daemon, spec) = start();
    let client = Client::new();

    // Served as written in the repository, to anyone (no token), as JSON.
    let (status, served) = spec.check(
        "GET",
        "/openapi.json",
        client.get(daemon.url("/openapi.json")),
    );
    assert_eq!(status, 200);
    assert_eq!(
        served, spec.document,
        "GET /openapi.json is not host/openapi.json"
    );
    assert_eq!(spec.document["openapi"], "3.1.0");

    let routes = router_routes();
    let documented = documented_routes(&spec.document);
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    let not_served: Vec<_> = documented.difference(&routes).collect();
    assert!(
        undocumented.is_empty() && not_served.is_empty(),
        "routes without documentation: {undocumented:?}; documented but not routed: {not_served:?}"
    );
    assert!(routes.len() >= 16, "{routes:?}");

    // The daemon agrees: each documented path answers another method 405, allowing exactly the
    // documented ones (HEAD with GET).
    let paths: BTreeSet<&String> = documented.iter().map(|(_, path)| path).collect();
    for path in paths {
        let concrete = path.replace("{id}", "ranker-v2");
        let answer = client
            .request(reqwest::Method::TRACE, daemon.url(&concrete))
            .send()
            .expect("TRACE");
        assert_eq!(answer.status().as_u16(), 405, "TRACE {path}");
        let allow: BTreeSet<String> = answer.headers()["allow"]
            .to_str()
            .expect("Allow")
            .split(',')
            .map(|method| method.trim().to_string())
            .collect();
        let mut expected: BTreeSet<String> = documented
            .iter()
            .filter(|(_, documented)| documented == path)
            .map(|(method, _)| method.clone())
            .collect();
        if expected.contains("GET") {
            expected.insert("HEAD".into());
        }
        assert_eq!(allow, expected, "Allow of {path}");
        let body: Value = answer.json().expect("problem JSON");
        spec.validate(&spec.component("Problem"), &body, "a 405");
    }

    // The schemas hold the rules: what the daemon refuses, they refuse too.
    let decision = &spec.document["components"]["schemas"]["DecisionInput"]["examples"][0];
    for (field, value) in [
        ("input_song", json!(" \t ")),
        ("input_song", json!("a\u{1b}[2J")),
        ("input_song", json!("x".repeat(1001))),
        ("decision_id", json!("d 1")),
        ("processing_time_ms", json!(-1)),
        ("processing_time_ms", json!(1e308)),
        ("recommendation_scores", json!([1e10, 0.0, 0.0])),
        ("song_features", json!({"key": "A\u{0}minor"})),
        ("recommended_moves", json!("basic")),
        ("unknown", json!(1)),
    ] {
        let mut broken = decision.clone();
        broken[field] = value;
        assert!(
            !spec
                .errors(&spec.component("DecisionInput"), &broken)
                .is_empty(),
            "a decision with {field} = {} fits the schema",
            broken[field]
        );
    }
    let rating = json!({"decision_id": "d-1", "feedback_type": "rating"});
    assert!(
        !spec
            .errors(&spec.component("FeedbackInput"), &rating)
            .is_empty()
    );
    assert!(
        !spec
            .errors(&spec.component("Problem"), &json!({"title": "x"}))
            .is_empty()
    );

    // Every example fits its schema.
    let schemas = spec.document["components"]["schemas"]
        .as_object()
        .expect("schemas");
    for (name, schema) in schemas {
        for example in schema["examples"].as_array().into_iter().flatten() {
            spec.validate(
                &spec.component(name),
                example,
                &format!("the example of {name}"),
            );
        }
    }
}

#[test]
fn real_answers_fit_the_document() {
    let (_sandbox, daemon, spec) = start();
    let client = Client::new();
    let url = |path: &str| daemon.url(path);
    let bearer = format!("Bearer {TOKEN}");
    let post = |path: &str, body: &Value| {
        client
            .post(url(path))
            .header("authorization", &bearer)
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    let example = |name: &str| spec.document["components"]["schemas"][name]["examples"][0].clone();

    // The daemon's own endpoints; a read addressed by a host name, with and without the token.
    assert_eq!(
        spec.check("GET", "/healthz", client.get(url("/healthz"))).0,
        200
    );
    let named = || {
        client
            .get(url("/healthz"))
            .header("host", "bachata.example")
    };
    spec.check("GET", "/healthz", named());
    let (status, _) = spec.check("GET", "/healthz", named().header("authorization", &bearer));
    assert_eq!(status, 200);
    let (status, text) = spec.check("GET", "/metrics", client.get(url("/metrics")));
    assert_eq!(status, 200);
    assert!(
        text.as_str()
            .is_some_and(|text| text.contains("bachata_common_"))
    );
    assert_eq!(
        spec.check("GET", "/v1/resources", client.get(url("/v1/resources")))
            .0,
        200
    );

    // Cleanups: the report, and the removals log as JSON Lines.
    let (status, report) = spec.check(
        "POST",
        "/v1/cleanup",
        post("/v1/cleanup", &json!({"dry_run": true})),
    );
    assert_eq!(
        (status, &report["dry_run"]),
        (200, &json!(true)),
        "{report}"
    );
    let (status, lines) = spec.check(
        "POST",
        "/v1/cleanup",
        post(
            "/v1/cleanup",
            &json!({"dry_run": true, "removals_log": true}),
        ),
    );
    assert_eq!(status, 200);
    assert_eq!(lines[0]["path"], "old.bin", "{lines}");
    // Refusals: no token, a cross-site origin, a form, a body over 64 KiB, a bad field.
    let (status, _) = spec.check("POST", "/v1/cleanup", client.post(url("/v1/cleanup")));
    assert_eq!(status, 401);
    let (status, _) = spec.check(
        "POST",
        "/v1/cleanup",
        post("/v1/cleanup", &json!({})).header("origin", "http://evil.example"),
    );
    assert_eq!(status, 403);
    let (status, _) = spec.check(
        "POST",
        "/v1/cleanup",
        client
            .post(url("/v1/cleanup"))
            .header("authorization", &bearer)
            .header("content-type", "text/plain")
            .body("{}"),
    );
    assert_eq!(status, 415);
    let big = json!({ "padding": "x".repeat(70 << 10) });
    assert_eq!(
        spec.check("POST", "/v1/cleanup", post("/v1/cleanup", &big))
            .0,
        413
    );
    let (status, problem) = spec.check(
        "POST",
        "/v1/cleanup",
        post("/v1/cleanup", &json!({"force": "yes"})),
    );
    assert_eq!(
        (status, &problem["error_code"]),
        (400, &json!("VALIDATION_ERROR"))
    );

    // An experiment, as the document's example defines it: created, then already so.
    let definition = example("Definition");
    let (status, _) = spec.check(
        "POST",
        "/v1/experiments",
        post("/v1/experiments", &definition),
    );
    assert_eq!(status, 201);
    let (status, _) = spec.check(
        "POST",
        "/v1/experiments",
        post("/v1/experiments", &definition),
    );
    assert_eq!(status, 200);
    let id = definition["test_id"].as_str().expect("test_id");
    let one = format!("/v1/experiments/{id}");
    let (status, body) = spec.check(
        "PUT",
        "/v1/experiments/{id}",
        client
            .put(url(&one))
            .header("authorization", &bearer)
            .header("content-type", "application/json")
            .body(definition.to_string()),
    );
    assert_eq!((status, &body["test_id"]), (200, &json!(id)));
    let (status, list) = spec.check("GET", "/v1/experiments", client.get(url("/v1/experiments")));
    assert_eq!(
        (status, list["experiments"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    assert_eq!(
        spec.check("GET", "/v1/experiments/{id}", client.get(url(&one)))
            .0,
        200
    );
    let (status, _) = spec.check(
        "GET",
        "/v1/experiments/{id}",
        client.get(url("/v1/experiments/no-such-test")),
    );
    assert_eq!(status, 404);
    let assignment = format!("/v1/experiments/{id}/assignment");
    for unit in ["user-42", "user-7", ""] {
        let (status, body) = spec.check(
            "GET",
            "/v1/experiments/{id}/assignment",
            client
                .get(url(&assignment))
                .query(&[("unit", unit)])
                .header("authorization", &bearer),
        );
        assert_eq!((status, &body["unit"]), (200, &json!(unit)));
    }
    let (status, _) = spec.check(
        "GET",
        "/v1/experiments/{id}/assignment",
        client.get(url(&assignment)).query(&[("unit", "user-42")]),
    );
    assert_eq!(status, 401);
    let (status, _) = spec.check(
        "GET",
        "/v1/experiments/{id}/assignment",
        client
            .get(url(&assignment))
            .header("authorization", &bearer),
    );
    assert_eq!(status, 400);

    // Events as the examples write them: one, then its retry, then a batch; a broken one.
    let decision = example("DecisionInput");
    let (status, body) = spec.check("POST", "/v1/decisions", post("/v1/decisions", &decision));
    assert_eq!((status, &body["stored"]), (201, &json!(true)));
    let (status, _) = spec.check("POST", "/v1/decisions", post("/v1/decisions", &decision));
    assert_eq!(status, 200);
    let mut other = decision.clone();
    other["decision_id"] = json!("d-2");
    other["algorithm_version"] = json!("1.0");
    let batch = json!([decision, other]);
    let (status, body) = spec.check("POST", "/v1/decisions", post("/v1/decisions", &batch));
    assert_eq!(
        (status, &body["stored"], &body["duplicates"]),
        (201, &json!(1), &json!(1))
    );
    let mut broken = other.clone();
    broken["recommendation_scores"] = json!([0.5]);
    let (status, problem) = spec.check(
        "POST",
        "/v1/decisions",
        post("/v1/decisions", &json!([broken])),
    );
    assert_eq!(
        (status, &problem["details"]["field"]),
        (400, &json!("[0].recommendation_scores"))
    );
    let feedback = example("FeedbackInput");
    let (status, _) = spec.check("POST", "/v1/feedback", post("/v1/feedback", &feedback));
    assert_eq!(status, 201);
    let likes = json!([
        {"decision_id": "d-2", "feedback_type": "like", "move_id": "basic"},
        {"decision_id": "d-1", "feedback_type": "skip"},
    ]);
    let (status, body) = spec.check("POST", "/v1/feedback", post("/v1/feedback", &likes));
    assert_eq!((status, &body["stored"]), (201, &json!(2)));

    // Reads over what was stored.
    for query in ["", "?days=30&k=3", "?version=2.0"] {
        let path = format!("/v1/metrics/performance{query}");
        let (status, _) = spec.check("GET", "/v1/metrics/performance", client.get(url(&path)));
        assert_eq!(status, 200, "{path}");
    }
    let (status, _) = spec.check(
        "GET",
        "/v1/metrics/performance",
        client.get(url("/v1/metrics/performance?k=0")),
    );
    assert_eq!(status, 400);
    let (status, report) = spec.check("GET", "/v1/report", client.get(url("/v1/report?days=3")));
    assert_eq!(
        (status, report["daily_metrics"].as_array().map(Vec::len)),
        (200, Some(3))
    );
    assert_eq!(report["experiments"][0]["test_id"], json!(id));
    assert_eq!(
        spec.check("GET", "/v1/report", client.get(url("/v1/report?k=3")))
            .0,
        400
    );
    assert_eq!(
        spec.check("GET", "/report", client.get(url("/report?days=3")))
            .0,
        200
    );
    let analysis = format!("/v1/experiments/{id}/analysis");
    for query in [
        "",
        "?correction=holm_bonferroni",
        "?correction=benjamini_hochberg",
    ] {
        let path = format!("{analysis}{query}");
        let (status, _) = spec.check(
            "GET",
            "/v1/experiments/{id}/analysis",
            client.get(url(&path)),
        );
        assert_eq!(status, 200, "{path}");
    }
    let (status, _) = spec.check(
        "GET",
        "/v1/experiments/{id}/analysis",
        client.get(url(&format!("{analysis}?correction=bonferroni"))),
    );
    assert_eq!(status, 400);

    // Outside the operations: an unknown path, a method not allowed.
    for (answer, code) in [
        (client.get(url("/v2/nothing")).send().expect("404"), 404),
        (client.delete(url("/healthz")).send().expect("405"), 405),
    ] {
        assert_eq!(answer.status().as_u16(), code);
        assert_eq!(answer.headers()["content-type"], "application/problem+json");
        let body: Value = answer.json().expect("problem");
        spec.validate(&spec.component("Problem"), &body, &format!("the {code}"));
    }
}
