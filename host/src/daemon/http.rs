//! The daemon's HTTP endpoint, served by hyper with limits a hostile client cannot get
//! around:
//!
//! - request headers must arrive within [`HEADER_READ_TIMEOUT`], which also closes a
//!   keep-alive connection idle for that long; a request body within [`BODY_READ_TIMEOUT`];
//!   bodies of at most [`MAX_BODY_BYTES`];
//! - at most [`MAX_CONNECTIONS`] connections are served at once (more wait in the backlog);
//! - browsers cannot be used against the API: a request whose `Host` is not a loopback name
//!   is refused when no token is set (DNS rebinding), a `POST` whose `Origin` is not the
//!   daemon itself is refused (cross-site requests), and a `POST` body must be
//!   `application/json` (a cross-site form cannot send that without a preflight).
//!
//! Every error is an RFC 9457 `application/problem+json` document.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;

use super::Shared;
use crate::services::resources::{cleanup_json, resources_json};
use crate::types::error::{AppError, Error};

/// Longest wait for a request's headers, and longest idle time of a kept-alive connection.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a request's body.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 << 10;
/// Most connections served at once.
pub const MAX_CONNECTIONS: usize = 512;
/// Shortest bearer token accepted off loopback.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The routes, behind the request guard.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/v1/resources", get(resources))
        .route("/v1/cleanup", post(cleanup))
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
    let router = router(shared);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of descriptors, a connection reset before accept...: wait a little
                    // and go on serving the others.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .max_buf_size(64 << 10)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "HTTP connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
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

/// An RFC 9457 problem response rendered by the policy, with `status` (default: the
/// catalog's status of the error).
fn problem(
    shared: &Shared,
    error: &AppError,
    status: Option<StatusCode>,
    instance: &str,
) -> Response {
    // Status and document both come from the active policy.
    let policy = shared.manager.policy();
    let status = status.unwrap_or_else(|| {
        policy
            .http_status(error.error_code())
            .ok()
            .and_then(|status| StatusCode::from_u16(status).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    });
    let body = policy
        .problem_json(error, None, Some(instance))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .map(|mut document| {
            document["status"] = json!(status.as_u16());
            document.to_string()
        })
        .unwrap_or_else(|| {
            json!({"title": "Error", "status": status.as_u16(), "detail": error.message()})
                .to_string()
        });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body,
    )
        .into_response()
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
        "no such endpoint: see /healthz, /metrics, /v1/resources and POST /v1/cleanup",
        &path,
    )
}

async fn method_not_allowed(request: Request) -> Response {
    let path = request.uri().path().to_string();
    let detail = format!("{} is not allowed on {path}", request.method());
    http_problem(StatusCode::METHOD_NOT_ALLOWED, &detail, &path)
}

/// Whether `host` (a `Host` header: name or address, with an optional port) names this
/// machine's loopback interface.
fn loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Whether `origin` (an `Origin` header) is this very daemon, as reached through `host`.
fn same_origin(origin: &str, host: &str) -> bool {
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
}

/// Refuses what browsers could be tricked into sending: a foreign `Host` on a daemon without
/// a token (DNS rebinding) and a cross-origin or non-JSON `POST`.
async fn guard(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if shared.api_token.is_none() && !loopback_host(&host) {
        return http_problem(
            StatusCode::FORBIDDEN,
            "this daemon answers only requests addressed to a loopback host (127.0.0.1, \
             localhost, [::1]); set BACHATA_API_TOKEN to serve other names",
            &path,
        );
    }
    if request.method() == Method::POST {
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or_default();
            if !same_origin(origin, &host) {
                return http_problem(
                    StatusCode::FORBIDDEN,
                    "cross-origin requests are refused",
                    &path,
                );
            }
        }
        let has_body = headers.contains_key(header::TRANSFER_ENCODING)
            || headers
                .get(header::CONTENT_LENGTH)
                .and_then(|value| value.to_str().ok())
                .and_then(|length| length.trim().parse::<u64>().ok())
                .is_some_and(|length| length > 0);
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("application/json"));
        if has_body && !json {
            return http_problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the request body must be JSON (Content-Type: application/json)",
                &path,
            );
        }
    }
    next.run(request).await
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

/// Body of `POST /v1/cleanup`; both fields default to false.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CleanupRequest {
    #[serde(default)]
    force: bool,
    #[serde(default)]
    dry_run: bool,
}

/// Compares without an early exit, so timing reveals nothing about the token.
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in any case).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start())
}

/// Reads the request body within [`BODY_READ_TIMEOUT`] and [`MAX_BODY_BYTES`].
async fn read_body(shared: &Shared, body: axum::body::Body) -> Result<String, Response> {
    const INSTANCE: &str = "/v1/cleanup";
    let bytes = match tokio::time::timeout(
        BODY_READ_TIMEOUT,
        axum::body::to_bytes(body, MAX_BODY_BYTES),
    )
    .await
    {
        Err(_) => {
            return Err(http_problem(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time",
                INSTANCE,
            ));
        }
        Ok(Err(error)) => {
            let too_large = std::iter::successors(
                Some(&error as &(dyn std::error::Error + 'static)),
                |error| error.source(),
            )
            .any(|error| error.to_string().contains("length limit"));
            return Err(if too_large {
                http_problem(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
                    INSTANCE,
                )
            } else {
                http_problem(
                    StatusCode::BAD_REQUEST,
                    &format!("cannot read the request body: {error}"),
                    INSTANCE,
                )
            });
        }
        Ok(Ok(bytes)) => bytes,
    };
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        problem(
            shared,
            &validation("the request body is not UTF-8".to_string(), "body"),
            None,
            INSTANCE,
        )
    })
}

async fn cleanup(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    const INSTANCE: &str = "/v1/cleanup";
    let (parts, body) = request.into_parts();
    if let Some(expected) = &shared.api_token {
        let given = bearer_token(&parts.headers).unwrap_or_default();
        if !same_token(given.as_bytes(), expected.as_bytes()) {
            let mut response = http_problem(
                StatusCode::UNAUTHORIZED,
                "a valid bearer token is required",
                INSTANCE,
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
            return response;
        }
    }
    let body = match read_body(&shared, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let request: CleanupRequest = if body.trim().is_empty() {
        CleanupRequest::default()
    } else {
        match serde_json::from_str(&body) {
            Ok(request) => request,
            Err(error) => {
                let error = validation(format!("invalid cleanup request: {error}"), "body");
                return problem(&shared, &error, None, INSTANCE);
            }
        }
    };
    let task_shared = Arc::clone(&shared);
    let outcome = tokio::task::spawn_blocking(move || {
        task_shared.manager.cleanup(request.force, request.dry_run)
    })
    .await;
    match outcome {
        Ok(Ok(report)) => {
            shared.telemetry.cleanup_done("api", &report);
            Json(cleanup_json(&report)).into_response()
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

/// Whether a daemon listening on `listen` with `token` is safe to start: off loopback a
/// token of at least [`MIN_TOKEN_CHARS`] non-blank characters is required.
pub fn listen_problem(listen: SocketAddr, token: Option<&str>) -> Option<String> {
    if listen.ip().is_loopback() {
        return None;
    }
    match token {
        None => Some(format!(
            "refusing to serve on {listen} (not loopback) without BACHATA_API_TOKEN: set a \
             token so that POST /v1/cleanup cannot be called by anyone on the network"
        )),
        Some(token) if token.trim().chars().count() < MIN_TOKEN_CHARS => Some(format!(
            "refusing to serve on {listen} (not loopback) with a BACHATA_API_TOKEN of fewer \
             than {MIN_TOKEN_CHARS} characters: use a long random token, for example \
             `openssl rand -hex 32`"
        )),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison() {
        assert!(same_token(b"abc", b"abc"));
        assert!(!same_token(b"abd", b"abc"));
        assert!(!same_token(b"ab", b"abc"));
        assert!(!same_token(b"", b"abc"));
    }

    #[test]
    fn bearer_scheme_in_any_case() {
        let mut headers = HeaderMap::new();
        for (value, expected) in [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER  abc", Some("abc")),
            ("Basic abc", None),
            ("Bearerabc", None),
        ] {
            headers.insert(header::AUTHORIZATION, value.parse().expect("header"));
            assert_eq!(bearer_token(&headers), expected, "{value}");
        }
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "127.0.0.1:9464",
            "127.0.0.1",
            "localhost:9464",
            "LOCALHOST",
            "[::1]:9464",
            "[::1]",
        ] {
            assert!(loopback_host(host), "{host}");
        }
        for host in ["evil.example:9464", "10.0.0.1:9464", "", "[::2]:1"] {
            assert!(!loopback_host(host), "{host}");
        }
    }

    #[test]
    fn origins() {
        assert!(same_origin("http://127.0.0.1:9464", "127.0.0.1:9464"));
        assert!(!same_origin("http://evil.example", "127.0.0.1:9464"));
        assert!(!same_origin("null", "127.0.0.1:9464"));
    }

    #[test]
    fn tokens_off_loopback() {
        let remote: SocketAddr = "0.0.0.0:9464".parse().expect("address");
        let local: SocketAddr = "127.0.0.1:9464".parse().expect("address");
        assert!(listen_problem(local, None).is_none());
        assert!(listen_problem(remote, None).is_some());
        assert!(listen_problem(remote, Some("x")).is_some());
        assert!(listen_problem(remote, Some("                 ")).is_some());
        assert!(listen_problem(remote, Some("0123456789abcdef")).is_none());
    }
}
