//! The daemon's HTTP endpoint, served by hyper with limits a hostile client cannot get
//! around:
//!
//! - request heads of at most [`connections::MAX_HEAD_BYTES`] must arrive within
//!   [`connections::HEADER_READ_TIMEOUT`], which also closes a keep-alive connection idle for
//!   that long; a request body within [`body::BODY_READ_TIMEOUT`]; bodies of at most
//!   [`MAX_BODY_BYTES`] (4 MiB for events), and all the bodies in flight within
//!   [`body::BODY_BUDGET_BYTES`] together (else `503`);
//! - at most [`connections::MAX_CONNECTIONS`] connections are open at once; when all are
//!   taken, the one idle longest is closed for a new one;
//! - browsers cannot be used against the API (see [`guard`]): a request whose `Host` is a
//!   name other than `localhost` needs the bearer token (DNS rebinding; without a token only
//!   loopback hosts are served), a request whose `Origin` is not the daemon itself is refused
//!   (cross-site requests), and a `POST` body must be `application/json` (a cross-site form
//!   cannot send that without a preflight).
//!
//! Every error is an RFC 9457 `application/problem+json` document.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;

mod body;
mod connections;
mod experiments;
mod guard;
mod monitor;
mod openapi;
mod removals;

use super::Shared;
use crate::capabilities::fs::RemovalLog;
use crate::runtime::Policy;
use crate::services::resources::{CleanupOptions, cleanup_json, resources_json};
use crate::types::error::{AppError, Error};
use body::{declared_length, declared_too_large, not_json, read_body};
pub(crate) use guard::listen_problem;
use guard::{bearer_token, guard, same_token};

/// Largest request body accepted (the events endpoints take more).
pub const MAX_BODY_BYTES: usize = 64 << 10;

/// The routes, behind the request guard.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi::document))
        .route("/v1/resources", get(resources))
        .route("/v1/cleanup", post(cleanup))
        .route("/v1/decisions", post(monitor::decisions))
        .route("/v1/feedback", post(monitor::feedback))
        .route("/v1/metrics/performance", get(monitor::performance))
        .route("/v1/report", get(monitor::report_json))
        .route("/report", get(monitor::report_html))
        .route(
            "/v1/experiments",
            post(experiments::create).get(experiments::list),
        )
        .route(
            "/v1/experiments/{id}",
            get(experiments::one).put(experiments::replace),
        )
        .route(
            "/v1/experiments/{id}/assignment",
            get(experiments::assignment),
        )
        .route(
            "/v1/experiments/{id}/assignments",
            post(experiments::assignments),
        )
        .route("/v1/experiments/{id}/analysis", get(experiments::analysis))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            guard,
        ))
        .with_state(shared)
}

/// Serves until `shutdown` resolves, then lets the open connections finish their request
/// (the caller bounds how long).
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    connections::serve(listener, router(shared), shutdown).await
}

/// An RFC 9457 problem document for an HTTP-level refusal (no catalog error behind it).
fn http_problem(status: StatusCode, detail: &str, instance: &str) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "instance": instance,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// An RFC 9457 problem response rendered by the active policy, with `status` (default: the
/// policy's status for the error). When the active policy cannot render it, the embedded one
/// does and the document says so (`rendered_by`).
fn problem(
    shared: &Shared,
    error: &AppError,
    status: Option<StatusCode>,
    instance: &str,
) -> Response {
    let render = |policy: &Policy| -> Result<(u16, serde_json::Value), crate::types::error::Error> {
        let code = policy.http_status(error.error_code())?;
        let text = policy.problem_json(error, None, Some(instance))?;
        let document = serde_json::from_str(&text).map_err(|parse| {
            crate::types::error::Error::App(AppError::Generation {
                message: format!("the policy's problem document is not JSON: {parse}"),
                details: Vec::new(),
            })
        })?;
        Ok((code, document))
    };
    let active = shared.manager.policy();
    // The policy runs synchronously here, on an async worker: a component's WASI output is
    // flushed by blocking on the runtime, which a worker may only do as a blocking section.
    let render = |policy: &Policy| tokio::task::block_in_place(|| render(policy));
    let rendered = render(&active).or_else(|failure| {
        tracing::warn!(%failure, "the active policy could not render an error; the embedded one does");
        Policy::shared().and_then(render).map(|(code, mut document)| {
            document["rendered_by"] =
                json!("embedded policy (the active policy could not render this error)");
            (code, document)
        })
    });
    let (status, body) = match rendered {
        Ok((code, mut document)) => {
            let status = status
                .or_else(|| StatusCode::from_u16(code).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            document["status"] = json!(status.as_u16());
            (status, document.to_string())
        }
        // Neither policy answers: the bare minimum, by the host.
        Err(_) => {
            let status = status.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let document =
                json!({"title": "Error", "status": status.as_u16(), "detail": error.message()});
            (status, document.to_string())
        }
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body,
    )
        .into_response()
}

/// A request body that must be one JSON object (serde would also read a struct's fields from
/// an array, in order); `what` names the request in the error, whose field is `body`.
fn json_object<T: serde::de::DeserializeOwned>(body: &str, what: &str) -> Result<T, AppError> {
    if !body.trim_start().starts_with('{') {
        return Err(validation(
            format!("invalid {what}: the body must be a JSON object"),
            "body",
        ));
    }
    serde_json::from_str(body)
        .map_err(|error| validation(format!("invalid {what}: {error}"), "body"))
}

fn validation(message: String, field: &str) -> AppError {
    AppError::Validation {
        message,
        field: Some(field.to_string()),
        value: None,
        details: Vec::new(),
    }
}

async fn not_found(request: Request) -> Response {
    let path = request.uri().path().to_string();
    http_problem(
        StatusCode::NOT_FOUND,
        "no such endpoint: see /healthz, /metrics, /v1/resources, POST /v1/cleanup, \
         POST /v1/decisions, POST /v1/feedback, /v1/metrics/performance, /v1/report and /report",
        &path,
    )
}

async fn method_not_allowed(request: Request) -> Response {
    let path = request.uri().path().to_string();
    let detail = format!("{} is not allowed on {path}", request.method());
    http_problem(StatusCode::METHOD_NOT_ALLOWED, &detail, &path)
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let task_shared = Arc::clone(&shared);
    let snapshot =
        tokio::task::spawn_blocking(move || task_shared.manager.system_resources()).await;
    if let Ok(snapshot) = snapshot {
        shared.telemetry.observe(&snapshot);
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.telemetry.encode(),
    )
        .into_response()
}

async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

async fn resources(State(shared): State<Arc<Shared>>) -> Response {
    let task_shared = Arc::clone(&shared);
    match tokio::task::spawn_blocking(move || task_shared.manager.system_resources()).await {
        Ok(snapshot) => {
            shared.telemetry.observe(&snapshot);
            Json(resources_json(&snapshot)).into_response()
        }
        Err(error) => {
            let error = AppError::Resource {
                message: format!("resource snapshot failed: {error}"),
                resource_type: None,
                details: Vec::new(),
            };
            problem(&shared, &error, None, "/v1/resources")
        }
    }
}

/// Body of `POST /v1/cleanup`; the flags default to false, `samples` to the default count
/// (an empty body is the same request as `{}`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CleanupRequest {
    #[serde(default)]
    force: bool,
    #[serde(default)]
    dry_run: bool,
    /// Answer with every removal as JSON Lines, then the report (`application/x-ndjson`).
    #[serde(default)]
    removals_log: bool,
    /// Most sample removals in the report.
    #[serde(default = "default_samples")]
    samples: u32,
}

impl Default for CleanupRequest {
    fn default() -> Self {
        Self {
            force: false,
            dry_run: false,
            removals_log: false,
            samples: default_samples(),
        }
    }
}

fn default_samples() -> u32 {
    crate::runtime::DEFAULT_SAMPLES
}

/// The refusal of a request without the bearer token, when one is set (`POST` endpoints).
fn unauthorized(
    shared: &Shared,
    headers: &axum::http::HeaderMap,
    instance: &str,
) -> Option<Response> {
    let expected = shared.api_token.as_ref()?;
    let given = bearer_token(headers).unwrap_or_default();
    if same_token(given.as_bytes(), expected.as_bytes()) {
        return None;
    }
    let mut response = http_problem(
        StatusCode::UNAUTHORIZED,
        "a valid bearer token is required",
        instance,
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer"),
    );
    Some(response)
}

async fn cleanup(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    const INSTANCE: &str = "/v1/cleanup";
    let (parts, body) = request.into_parts();
    if let Some(response) = unauthorized(&shared, &parts.headers, INSTANCE) {
        return response;
    }
    if let Some(response) = declared_too_large(&parts.headers, MAX_BODY_BYTES, INSTANCE) {
        return response;
    }
    let body = match read_body(&shared, body, MAX_BODY_BYTES, INSTANCE).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    if let Some(response) = not_json(&parts.headers, &body, INSTANCE) {
        return response;
    }
    let request: CleanupRequest = if body.trim().is_empty() {
        CleanupRequest::default()
    } else {
        match json_object(&body, "cleanup request") {
            Ok(request) => request,
            Err(error) => return problem(&shared, &error, None, INSTANCE),
        }
    };
    // Its share of the body budget goes back before the cleanup runs.
    drop(body);
    let spool = if request.removals_log {
        match tempfile::tempfile() {
            Ok(file) => Some(file),
            Err(error) => {
                let error = AppError::Resource {
                    message: format!("cannot create a spool file for the removals log: {error}"),
                    resource_type: Some("disk".to_string()),
                    details: Vec::new(),
                };
                return problem(&shared, &error, None, INSTANCE);
            }
        }
    } else {
        None
    };
    let task_shared = Arc::clone(&shared);
    let outcome = tokio::task::spawn_blocking(move || {
        let log = match &spool {
            Some(file) => {
                let writer = file.try_clone().map_err(|source| Error::Io {
                    path: "removals spool".into(),
                    source,
                })?;
                Some(Arc::new(RemovalLog::new(writer)))
            }
            None => None,
        };
        let options = CleanupOptions {
            force: request.force,
            dry_run: request.dry_run,
            max_samples: request.samples,
            removals_log: log,
            progress: None,
        };
        let report = task_shared.manager.cleanup_with(&options)?;
        Ok::<_, Error>((report, spool))
    })
    .await;
    match outcome {
        Ok(Ok((report, spool))) => {
            shared.telemetry.cleanup_done("api", &report);
            match spool {
                Some(file) => removals::stream(file, &report),
                None => Json(cleanup_json(&report)).into_response(),
            }
        }
        Ok(Err(error @ Error::Busy { .. })) => problem(
            &shared,
            &error.to_app_error(),
            Some(StatusCode::CONFLICT),
            INSTANCE,
        ),
        Ok(Err(error @ Error::Cancelled { .. })) => {
            problem(&shared, &error.to_app_error(), None, INSTANCE)
        }
        Ok(Err(error)) => {
            shared.telemetry.policy_error();
            problem(&shared, &error.to_app_error(), None, INSTANCE)
        }
        Err(error) => {
            let error = AppError::Generation {
                message: format!("cleanup task failed: {error}"),
                details: Vec::new(),
            };
            problem(&shared, &error, None, INSTANCE)
        }
    }
}
