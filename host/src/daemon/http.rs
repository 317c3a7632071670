//! The daemon's HTTP endpoint.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;

use super::Shared;
use crate::error::{AppError, Error};
use crate::resources::{cleanup_json, resources_json};

/// The routes.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/v1/resources", get(resources))
        .route("/v1/cleanup", post(cleanup))
        .with_state(shared)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(shared))
        .with_graceful_shutdown(shutdown)
        .await
}

/// An RFC 9457 problem response rendered by the policy.
fn problem(
    shared: &Shared,
    error: &AppError,
    error_type: Option<&str>,
    instance: &str,
) -> Response {
    let status =
        StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = shared
        .manager
        .policy()
        .problem_json(error, error_type, Some(instance))
        .unwrap_or_else(|_| {
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

fn failure(shared: &Shared, error: &Error, instance: &str) -> Response {
    shared.telemetry.policy_error();
    problem(shared, &error.to_app_error(), None, instance)
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

async fn cleanup(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    const INSTANCE: &str = "/v1/cleanup";
    if let Some(expected) = &shared.api_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !same_token(given.as_bytes(), expected.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                Json(json!({"title": "Unauthorized", "status": 401, "detail": "a valid bearer token is required"})),
            )
                .into_response();
        }
    }
    let request: CleanupRequest = if body.trim().is_empty() {
        CleanupRequest::default()
    } else {
        match serde_json::from_str(&body) {
            Ok(request) => request,
            Err(error) => {
                let error = AppError::Validation {
                    message: format!("invalid cleanup request: {error}"),
                    field: Some("body".to_string()),
                    value: None,
                    details: Vec::new(),
                };
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
        Ok(Err(error)) => failure(&shared, &error, INSTANCE),
        Err(error) => {
            let error = AppError::Generation {
                message: format!("cleanup task failed: {error}"),
                details: Vec::new(),
            };
            problem(&shared, &error, None, INSTANCE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::same_token;

    #[test]
    fn token_comparison() {
        assert!(same_token(b"abc", b"abc"));
        assert!(!same_token(b"abd", b"abc"));
        assert!(!same_token(b"ab", b"abc"));
        assert!(!same_token(b"", b"abc"));
    }
}
