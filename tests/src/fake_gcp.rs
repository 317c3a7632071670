//! A fake Google Cloud on 127.0.0.1: Secret Manager's `versions/latest:access`, the
//! OAuth token endpoint a service-account key points at, and the metadata server's token
//! endpoint. It records every secret asked for.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::json;

/// The access token the fake issues and expects.
pub const TOKEN: &str = "fake-access-token-7d1e";

/// How the fake answers for one secret.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The value, with a correct checksum.
    Value(String),
    /// The value, with a wrong checksum.
    Corrupted(String),
}

#[derive(Default)]
struct Shared {
    secrets: HashMap<String, Answer>,
    asked: Vec<String>,
    token_requests: Vec<String>,
}

/// A running fake; it stops when dropped.
pub struct FakeGcp {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    _runtime: tokio::runtime::Runtime,
}

impl FakeGcp {
    /// Starts the fake with `secrets` (name → answer) for project `project`.
    pub fn start(project: &str, secrets: &[(&str, Answer)]) -> Self {
        let shared = Arc::new(Mutex::new(Shared {
            secrets: secrets
                .iter()
                .map(|(name, answer)| (format!("{project}/{name}"), answer.clone()))
                .collect(),
            ..Shared::default()
        }));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let app = axum::Router::new()
            .route(
                "/v1/projects/{project}/secrets/{secret}/versions/{version}",
                get(access),
            )
            .route("/token", post(oauth_token))
            .route(
                "/computeMetadata/v1/instance/service-accounts/default/token",
                get(metadata_token),
            )
            .with_state(Arc::clone(&shared));
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            shared,
            _runtime: runtime,
        }
    }

    /// `host:port` of the fake.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The base URL of the fake, for `SECRET_MANAGER_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The secrets asked for so far, in order.
    pub fn asked(&self) -> Vec<String> {
        self.shared.lock().expect("lock").asked.clone()
    }

    /// The grant types posted to the OAuth token endpoint so far.
    pub fn token_requests(&self) -> Vec<String> {
        self.shared.lock().expect("lock").token_requests.clone()
    }
}

type AppState = Arc<Mutex<Shared>>;

async fn access(
    State(shared): State<AppState>,
    Path((project, secret, version)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if version != "latest:access" {
        return (StatusCode::BAD_REQUEST, "expected latest:access").into_response();
    }
    let authorized = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"));
    if !authorized {
        return google_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "bad token");
    }
    let answer = {
        let mut shared = shared.lock().expect("lock");
        shared.asked.push(secret.clone());
        shared.secrets.get(&format!("{project}/{secret}")).cloned()
    };
    let (data, crc) = match answer {
        None => {
            return google_error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                &format!(
                    "Secret [projects/{project}/secrets/{secret}] not found or has no versions."
                ),
            );
        }
        Some(Answer::Value(value)) => {
            let crc = crc32c::crc32c(value.as_bytes());
            (value, crc)
        }
        Some(Answer::Corrupted(value)) => {
            let crc = crc32c::crc32c(value.as_bytes()) ^ 0xdead_beef;
            (value, crc)
        }
    };
    Json(json!({
        "name": format!("projects/{project}/secrets/{secret}/versions/1"),
        "payload": {
            "data": base64::engine::general_purpose::STANDARD.encode(data.as_bytes()),
            "dataCrc32c": crc.to_string(),
        }
    }))
    .into_response()
}

fn google_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": status.as_u16(), "message": message, "status": code}})),
    )
        .into_response()
}

async fn oauth_token(
    State(shared): State<AppState>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let grant = form.get("grant_type").cloned().unwrap_or_default();
    let has_assertion = form
        .get("assertion")
        .is_some_and(|jwt| jwt.split('.').count() == 3);
    shared
        .lock()
        .expect("lock")
        .token_requests
        .push(grant.clone());
    if grant != "urn:ietf:params:oauth:grant-type:jwt-bearer" || !has_assertion {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    Json(json!({"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"})).into_response()
}

async fn metadata_token(headers: HeaderMap) -> Response {
    if headers.get("metadata-flavor").and_then(|v| v.to_str().ok()) != Some("Google") {
        return (StatusCode::FORBIDDEN, "missing Metadata-Flavor").into_response();
    }
    Json(json!({"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"})).into_response()
}
