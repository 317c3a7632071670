//! The performance monitor's endpoints: `POST /v1/decisions` and `POST /v1/feedback` (one
//! event or a JSON array of them, with the bearer-token rule of `POST /v1/cleanup`),
//! `GET /v1/metrics/performance`, `GET /v1/report` and the HTML `GET /report`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::super::Shared;
use super::{declared_length, not_json, problem, read_body, unauthorized};
use crate::services::experiments::Experiments;
use crate::services::monitor::{MAX_BATCH, MAX_DAYS, MetricsQuery, Monitor, RETRY_AFTER_DETAIL};
use crate::types::error::{AppError, Error};
use crate::types::monitor::{DecisionInput, FeedbackInput, Logged, in_batch, invalid};

/// Largest body of an events request: a full batch of large events fits.
pub const MAX_EVENTS_BODY_BYTES: usize = 4 << 20;

/// The events of a request body: one object, or an array of them (`batch`).
fn events<T: DeserializeOwned>(body: &str) -> Result<(Vec<T>, bool), AppError> {
    let document: Value = serde_json::from_str(body).map_err(|error| {
        invalid(
            "body",
            None,
            format!("the request body is not valid JSON: {error}"),
        )
    })?;
    let (items, batch) = match document {
        Value::Array(items) => (items, true),
        item @ Value::Object(_) => (vec![item], false),
        _ => {
            return Err(invalid(
                "body",
                None,
                "the request body must be an event (a JSON object) or an array of events",
            ));
        }
    };
    if batch && items.is_empty() {
        return Err(invalid("body", Some("[]".into()), "the batch is empty"));
    }
    if items.len() > MAX_BATCH {
        return Err(invalid(
            "body",
            Some(items.len().to_string()),
            format!(
                "a batch holds at most {MAX_BATCH} events, not {}",
                items.len()
            ),
        ));
    }
    let events = items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            // An event is an object: serde would also read its fields from an array.
            if !item.is_object() {
                let error = invalid("body", None, "an event must be a JSON object");
                return Err(if batch { in_batch(error, index) } else { error });
            }
            serde_path_to_error::deserialize(item).map_err(|error| {
                let path = error.path().to_string();
                let field = if path == "." {
                    "body".to_string()
                } else {
                    path
                };
                let error = invalid(&field, None, format!("{field}: {}", error.inner()));
                if batch { in_batch(error, index) } else { error }
            })
        })
        .collect::<Result<Vec<T>, _>>()?;
    Ok((events, batch))
}

/// Reads, checks and parses an events request; a refusal is the response to send.
async fn read_events<T: DeserializeOwned>(
    shared: &Shared,
    request: Request,
    instance: &str,
) -> Result<(Vec<T>, bool), Response> {
    let (parts, body) = request.into_parts();
    if let Some(response) = unauthorized(shared, &parts.headers, instance) {
        return Err(response);
    }
    let declared = declared_length(&parts.headers);
    if declared.is_some_and(|length| length > MAX_EVENTS_BODY_BYTES as u64) {
        let error = invalid(
            "body",
            declared.map(|length| length.to_string()),
            format!(
                "the request body is larger than {MAX_EVENTS_BODY_BYTES} bytes: send at most \
                 {MAX_BATCH} events per request"
            ),
        );
        return Err(problem(
            shared,
            &error,
            Some(StatusCode::PAYLOAD_TOO_LARGE),
            instance,
        ));
    }
    let body = read_body(shared, body, MAX_EVENTS_BODY_BYTES, instance).await?;
    if let Some(response) = not_json(&parts.headers, &body, instance) {
        return Err(response);
    }
    events(&body).map_err(|error| problem(shared, &error, None, instance))
}

/// The answer to an events request: one event's id and whether it was stored, or a batch's
/// counts and each event's outcome. `201` when something was stored, `200` for retries only.
fn stored_response(logged: &[Logged], batch: bool, id_name: &str) -> Response {
    let stored = logged.iter().filter(|logged| logged.stored).count();
    let status = if stored > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = match (batch, logged.first()) {
        (false, Some(one)) => json!({id_name: one.id, "stored": one.stored}),
        _ => json!({
            "stored": stored,
            "duplicates": logged.len() - stored,
            "results": logged.iter().map(|l| json!({id_name: l.id, "stored": l.stored})).collect::<Vec<_>>(),
        }),
    };
    (status, Json(body)).into_response()
}

/// A failure of the monitor (or what is stored beside it) as a problem response.
pub(super) fn failure(shared: &Shared, error: &Error, instance: &str) -> Response {
    if !matches!(error, Error::App(AppError::Validation { .. })) {
        tracing::warn!(%error, instance, "request failed");
    }
    // The policy's status for the error's kind, but 409 for a conflict with stored data and
    // 404 for an experiment that is not stored.
    let status = match error {
        Error::Conflict(_) => Some(StatusCode::CONFLICT),
        Error::NotFound(_) => Some(StatusCode::NOT_FOUND),
        _ => None,
    };
    let error = error.to_app_error();
    with_retry_after(problem(shared, &error, status, instance), &error)
}

/// A refusal that says when to ask again (the database unreachable) with `Retry-After`.
fn with_retry_after(mut response: Response, error: &AppError) -> Response {
    let seconds = error
        .details()
        .iter()
        .find(|(name, _)| name == RETRY_AFTER_DETAIL)
        .and_then(|(_, seconds)| header::HeaderValue::from_str(seconds).ok());
    if let Some(seconds) = seconds {
        response.headers_mut().insert(header::RETRY_AFTER, seconds);
    }
    response
}

/// Runs `work` with the monitor on a blocking thread.
pub(super) async fn with_monitor<R: Send + 'static>(
    shared: &Arc<Shared>,
    work: impl FnOnce(&Arc<Monitor>) -> Result<R, Error> + Send + 'static,
) -> Result<R, Error> {
    let task_shared = Arc::clone(shared);
    tokio::task::spawn_blocking(move || work(&task_shared.monitor.get()?))
        .await
        .unwrap_or_else(|error| {
            Err(Error::App(AppError::Generation {
                message: format!("monitor task failed: {error}"),
                details: Vec::new(),
            }))
        })
}

/// `POST /v1/decisions`.
pub(super) async fn decisions(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    const INSTANCE: &str = "/v1/decisions";
    let (inputs, batch) = match read_events::<DecisionInput>(&shared, request, INSTANCE).await {
        Ok(events) => events,
        Err(response) => return response,
    };
    let policy = shared.manager.policy();
    let outcome = with_monitor(&shared, move |monitor| {
        let decisions = policy.check_decisions(inputs, Utc::now(), batch)?;
        let logged = monitor.store(&policy, &decisions, batch)?;
        Ok((decisions, logged))
    })
    .await;
    match outcome {
        Ok((decisions, logged)) => {
            for (decision, logged) in decisions.iter().zip(&logged) {
                if logged.stored {
                    shared
                        .telemetry
                        .decision_stored(&decision.algorithm_version, decision.processing_time_ms);
                }
            }
            stored_response(&logged, batch, "decision_id")
        }
        Err(error) => failure(&shared, &error, INSTANCE),
    }
}

/// `POST /v1/feedback`.
pub(super) async fn feedback(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    const INSTANCE: &str = "/v1/feedback";
    let (inputs, batch) = match read_events::<FeedbackInput>(&shared, request, INSTANCE).await {
        Ok(events) => events,
        Err(response) => return response,
    };
    let policy = shared.manager.policy();
    let outcome = with_monitor(&shared, move |monitor| {
        let feedback = policy.check_feedback(inputs, Utc::now(), batch)?;
        let logged = monitor.store(&policy, &feedback, batch)?;
        Ok((feedback, logged))
    })
    .await;
    match outcome {
        Ok((feedback, logged)) => {
            for (event, logged) in feedback.iter().zip(&logged) {
                if logged.stored {
                    shared.telemetry.feedback_stored(&event.feedback_type);
                }
            }
            stored_response(&logged, batch, "feedback_id")
        }
        Err(error) => failure(&shared, &error, INSTANCE),
    }
}

type RawQuery = Result<Query<HashMap<String, String>>, QueryRejection>;

/// The query parameters, or a `VALIDATION_ERROR` naming the one that is wrong.
fn metrics_query(query: RawQuery) -> Result<MetricsQuery, AppError> {
    let Query(params) =
        query.map_err(|error| invalid("query", None, format!("invalid query string: {error}")))?;
    let mut parsed = MetricsQuery::default();
    for (name, value) in &params {
        match name.as_str() {
            "days" => {
                parsed.days = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|d| (1..=MAX_DAYS).contains(d))
                    .ok_or_else(|| {
                        invalid(
                            "days",
                            Some(value.clone()),
                            format!("days must be a whole number from 1 to {MAX_DAYS}"),
                        )
                    })?;
            }
            "k" => {
                parsed.k = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|k| (1..=1000).contains(k))
                    .ok_or_else(|| {
                        invalid(
                            "k",
                            Some(value.clone()),
                            "k must be a whole number from 1 to 1000",
                        )
                    })?;
            }
            "version" => {
                parsed.version = (!value.is_empty()).then(|| value.clone());
            }
            other => {
                return Err(invalid(
                    other,
                    Some(value.clone()),
                    format!("unknown query parameter {other:?}: expected days, version or k"),
                ));
            }
        }
    }
    Ok(parsed)
}

/// `GET /v1/metrics/performance?days=7&version=&k=5`.
pub(super) async fn performance(State(shared): State<Arc<Shared>>, query: RawQuery) -> Response {
    const INSTANCE: &str = "/v1/metrics/performance";
    let query = match metrics_query(query) {
        Ok(query) => query,
        Err(error) => return problem(&shared, &error, None, INSTANCE),
    };
    let policy = shared.manager.policy();
    match with_monitor(&shared, move |monitor| monitor.metrics(&policy, &query)).await {
        Ok(metrics) => Json(metrics).into_response(),
        Err(error) => failure(&shared, &error, INSTANCE),
    }
}

/// The report of the days the query names (`days` only).
async fn report(
    shared: &Arc<Shared>,
    query: RawQuery,
    instance: &str,
) -> Result<crate::services::monitor::Report, Response> {
    let query = metrics_query(query).map_err(|error| problem(shared, &error, None, instance))?;
    if let Some(other) = query
        .version
        .as_ref()
        .map(|_| "version")
        .or((query.k != MetricsQuery::default().k).then_some("k"))
    {
        let error = invalid(
            other,
            None,
            format!("{other} is not a parameter of the report: use days"),
        );
        return Err(problem(shared, &error, None, instance));
    }
    let policy = shared.manager.policy();
    with_monitor(shared, move |monitor| {
        Experiments::new(Arc::clone(monitor)).report(&policy, query.days)
    })
    .await
    .map_err(|error| failure(shared, &error, instance))
}

/// `GET /v1/report?days=7`.
pub(super) async fn report_json(State(shared): State<Arc<Shared>>, query: RawQuery) -> Response {
    match report(&shared, query, "/v1/report").await {
        Ok(report) => Json(report).into_response(),
        Err(response) => response,
    }
}

/// `GET /report?days=7`: the report as a page, no script, nothing loaded from elsewhere.
pub(super) async fn report_html(State(shared): State<Arc<Shared>>, query: RawQuery) -> Response {
    match report(&shared, query, "/report").await {
        Ok(report) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
                ),
            ],
            report.to_html(),
        )
            .into_response(),
        Err(response) => response,
    }
}
