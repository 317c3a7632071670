//! The experiments' endpoints: `POST /v1/experiments` (create), `PUT /v1/experiments/{id}`
//! (replace), `GET /v1/experiments`, `GET /v1/experiments/{id}`,
//! `GET /v1/experiments/{id}/assignment?unit=`, `POST /v1/experiments/{id}/assignments` (many
//! units at once) and `GET /v1/experiments/{id}/analysis`. Writing ones (including the
//! assignments, which log exposures) follow the bearer-token rule of `POST /v1/cleanup`; the
//! assignments also refuse a browser's cross-site request.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::super::Shared;
use super::monitor::{MAX_EVENTS_BODY_BYTES, failure, with_monitor};
use super::{
    MAX_BODY_BYTES, declared_too_large, http_problem, json_object, not_json, problem, read_body,
    unauthorized,
};
use crate::services::experiments::Experiments;
use crate::types::error::{AppError, Error};
use crate::types::experiments::{Correction, Definition};
use crate::types::monitor::invalid;

type RawQuery = Result<Query<HashMap<String, String>>, QueryRejection>;

/// Runs `work` with the experiments on a blocking thread.
async fn with_experiments<R: Send + 'static>(
    shared: &Arc<Shared>,
    work: impl FnOnce(&Experiments) -> Result<R, Error> + Send + 'static,
) -> Result<R, Error> {
    with_monitor(shared, move |monitor| {
        work(&Experiments::new(Arc::clone(monitor)))
    })
    .await
}

/// A definition from a request body, or the response refusing it.
async fn read_definition(
    shared: &Shared,
    request: Request,
    instance: &str,
) -> Result<Definition, Response> {
    let (parts, body) = request.into_parts();
    if let Some(response) = unauthorized(shared, &parts.headers, instance) {
        return Err(response);
    }
    if let Some(response) = declared_too_large(&parts.headers, MAX_BODY_BYTES, instance) {
        return Err(response);
    }
    let body = read_body(shared, body, MAX_BODY_BYTES, instance).await?;
    if let Some(response) = not_json(&parts.headers, &body, instance) {
        return Err(response);
    }
    Definition::from_json(&body).map_err(|error| problem(shared, &error, None, instance))
}

/// `POST /v1/experiments`: `201` with the stored experiment, `200` when it already was.
pub(super) async fn create(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    const INSTANCE: &str = "/v1/experiments";
    let definition = match read_definition(&shared, request, INSTANCE).await {
        Ok(definition) => definition,
        Err(response) => return response,
    };
    let policy = shared.manager.policy();
    // Whether this request stored it is decided in the transaction that writes it.
    let outcome = with_experiments(&shared, move |e| e.create_reporting(&policy, definition)).await;
    match outcome {
        Ok((experiment, created)) => {
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (status, Json(experiment)).into_response()
        }
        Err(error) => failure(&shared, &error, INSTANCE),
    }
}

/// `PUT /v1/experiments/{id}`: replaces a definition (the body's `test_id` must be `id`).
pub(super) async fn replace(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let instance = format!("/v1/experiments/{id}");
    let definition = match read_definition(&shared, request, &instance).await {
        Ok(definition) => definition,
        Err(response) => return response,
    };
    if definition.test_id != id {
        let error = invalid(
            "test_id",
            Some(definition.test_id),
            format!("the body's test_id must be the path's ({id:?})"),
        );
        return problem(&shared, &error, None, &instance);
    }
    let policy = shared.manager.policy();
    match with_experiments(&shared, move |e| e.replace(&policy, definition)).await {
        Ok(experiment) => Json(experiment).into_response(),
        Err(error) => failure(&shared, &error, &instance),
    }
}

/// `GET /v1/experiments`.
pub(super) async fn list(State(shared): State<Arc<Shared>>) -> Response {
    match with_experiments(&shared, |experiments| experiments.list()).await {
        Ok(all) => Json(serde_json::json!({ "experiments": all })).into_response(),
        Err(error) => failure(&shared, &error, "/v1/experiments"),
    }
}

/// `GET /v1/experiments/{id}`.
pub(super) async fn one(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let instance = format!("/v1/experiments/{id}");
    match with_experiments(&shared, move |experiments| experiments.get(&id)).await {
        Ok(experiment) => Json(experiment).into_response(),
        Err(error) => failure(&shared, &error, &instance),
    }
}

/// Whether a browser says the request comes from another site (`Sec-Fetch-Site`).
fn cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|site| !matches!(site, "same-origin" | "none"))
}

/// The only parameter `name` of a query (others refused).
fn only_param(query: RawQuery, name: &str) -> Result<Option<String>, AppError> {
    let Query(params) =
        query.map_err(|error| invalid("query", None, format!("invalid query string: {error}")))?;
    let mut value = None;
    for (key, given) in params {
        if key == name {
            value = Some(given);
        } else {
            return Err(invalid(
                &key,
                Some(given),
                format!("unknown query parameter {key:?}: expected {name}"),
            ));
        }
    }
    Ok(value)
}

/// `GET /v1/experiments/{id}/assignment?unit=`: the variation served (its exposure logged).
pub(super) async fn assignment(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: RawQuery,
) -> Response {
    let instance = format!("/v1/experiments/{id}/assignment");
    if let Some(response) = unauthorized(&shared, &headers, &instance) {
        return response;
    }
    if cross_site(&headers) {
        return http_problem(
            StatusCode::FORBIDDEN,
            "cross-site requests are refused",
            &instance,
        );
    }
    let unit = match only_param(query, "unit") {
        Ok(Some(unit)) => unit,
        Ok(None) => {
            let error = invalid("unit", None, "the unit query parameter is required");
            return problem(&shared, &error, None, &instance);
        }
        Err(error) => return problem(&shared, &error, None, &instance),
    };
    let policy = shared.manager.policy();
    match with_experiments(&shared, move |e| e.assign(&policy, &id, &unit)).await {
        Ok(assignment) => Json(assignment).into_response(),
        Err(error) => failure(&shared, &error, &instance),
    }
}

/// Most units one `POST /v1/experiments/{id}/assignments` takes.
pub const MAX_UNITS_PER_REQUEST: usize = 10_000;

/// The body of `POST /v1/experiments/{id}/assignments`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitsBody {
    units: Vec<String>,
}

/// The units of an assignments request: 1 to [`MAX_UNITS_PER_REQUEST`].
fn units(body: &str) -> Result<Vec<String>, AppError> {
    let parsed: UnitsBody = json_object(body, "assignments request")?;
    if parsed.units.is_empty() || parsed.units.len() > MAX_UNITS_PER_REQUEST {
        return Err(invalid(
            "units",
            Some(parsed.units.len().to_string()),
            format!(
                "a request assigns 1 to {MAX_UNITS_PER_REQUEST} units, not {}",
                parsed.units.len()
            ),
        ));
    }
    Ok(parsed.units)
}

/// `POST /v1/experiments/{id}/assignments` with `{"units": [...]}`: the variation each unit is
/// served, in their order (`{"assignments": [...]}`), the exposures logged in one transaction.
/// A unit at fault refuses the whole request (`units[i]`), nothing logged.
pub(super) async fn assignments(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let instance = format!("/v1/experiments/{id}/assignments");
    let (parts, body) = request.into_parts();
    if let Some(response) = unauthorized(&shared, &parts.headers, &instance) {
        return response;
    }
    if cross_site(&parts.headers) {
        return http_problem(
            StatusCode::FORBIDDEN,
            "cross-site requests are refused",
            &instance,
        );
    }
    if let Some(response) = declared_too_large(&parts.headers, MAX_EVENTS_BODY_BYTES, &instance) {
        return response;
    }
    let body = match read_body(&shared, body, MAX_EVENTS_BODY_BYTES, &instance).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    if let Some(response) = not_json(&parts.headers, &body, &instance) {
        return response;
    }
    let units = units(&body);
    // The body's share of the daemon's budget for large bodies is given back before the work.
    drop(body);
    let units = match units {
        Ok(units) => units,
        Err(error) => return problem(&shared, &error, None, &instance),
    };
    let policy = shared.manager.policy();
    match with_experiments(&shared, move |e| e.assign_many(&policy, &id, &units)).await {
        Ok(assignments) => Json(serde_json::json!({ "assignments": assignments })).into_response(),
        Err(error) => failure(&shared, &error, &instance),
    }
}

/// `GET /v1/experiments/{id}/analysis[?correction=]`.
pub(super) async fn analysis(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    query: RawQuery,
) -> Response {
    let instance = format!("/v1/experiments/{id}/analysis");
    let correction = match only_param(query, "correction").and_then(|given| {
        given
            .map(|text| {
                text.parse::<Correction>()
                    .map_err(|expected| invalid("correction", Some(text), expected))
            })
            .transpose()
    }) {
        Ok(correction) => correction,
        Err(error) => return problem(&shared, &error, None, &instance),
    };
    let policy = shared.manager.policy();
    match with_experiments(&shared, move |e| e.analyze(&policy, &id, correction)).await {
        Ok(analysis) => Json(analysis).into_response(),
        Err(error) => failure(&shared, &error, &instance),
    }
}
