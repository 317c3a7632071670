//! Request bodies: read within a time limit and a size limit, and within a budget that all
//! the bodies in flight share, so that many large requests at once cannot exhaust memory.
//!
//! Before a body is read, its request reserves as many bytes of [`BODY_BUDGET_BYTES`] as it
//! may hold: its declared length, or the endpoint's limit when it declares none. The
//! reservation lasts as long as the body's text ([`ReadBody`]) is alive, that is while the
//! handler parses it. A request that cannot reserve its share within [`BODY_BUDGET_WAIT`] is
//! answered `503 Service Unavailable` with `Retry-After`, before its body is read.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::body::HttpBody;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::super::Shared;
use super::{http_problem, problem, validation};

/// Longest wait for a request's body.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The bytes all request bodies being read or parsed may hold together.
pub const BODY_BUDGET_BYTES: usize = 64 << 20;

/// Longest wait for a share of [`BODY_BUDGET_BYTES`] before a request is answered `503`.
pub const BODY_BUDGET_WAIT: Duration = Duration::from_secs(2);

/// The `Retry-After` of a request refused for lack of body budget, in seconds.
const BUDGET_RETRY_AFTER_SECS: u32 = 1;

/// The process-wide body budget, in bytes.
static BUDGET: LazyLock<Arc<Semaphore>> =
    LazyLock::new(|| Arc::new(Semaphore::new(BODY_BUDGET_BYTES)));

/// A request body read in full: its text, and its share of the body budget, given back when
/// the text is dropped. Reads as a `&str`.
#[derive(Debug)]
pub(super) struct ReadBody {
    text: String,
    _share: OwnedSemaphorePermit,
}

impl std::ops::Deref for ReadBody {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

/// The body length a request declares (`Content-Length`), when it declares one.
pub(super) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|length| length.trim().parse::<u64>().ok())
}

/// A `413` when the declared length is over `limit`.
pub(super) fn declared_too_large(
    headers: &HeaderMap,
    limit: usize,
    instance: &str,
) -> Option<Response> {
    declared_length(headers)
        .filter(|&length| length > limit as u64)
        .map(|_| too_large(limit, instance))
}

fn too_large(limit: usize, instance: &str) -> Response {
    http_problem(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the request body is larger than {limit} bytes"),
        instance,
    )
}

/// The refusal of a body not sent as `application/json` (a cross-site form cannot send that
/// without a preflight). The one place the content type is decided: on the body actually
/// received.
pub(super) fn not_json(headers: &HeaderMap, body: &str, instance: &str) -> Option<Response> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("application/json"));
    (!body.is_empty() && !json).then(|| {
        http_problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the request body must be JSON (Content-Type: application/json)",
            instance,
        )
    })
}

/// The bytes a body may come to: its exact or largest length when known, else `limit`.
fn share_of(body: &axum::body::Body, limit: usize) -> usize {
    let hint = body.size_hint();
    let most = hint.upper().unwrap_or(u64::MAX);
    usize::try_from(most).map_or(limit, |most| most.min(limit))
}

/// Reserves `bytes` of the body budget, waiting at most [`BODY_BUDGET_WAIT`].
async fn reserve(bytes: usize, instance: &str) -> Result<OwnedSemaphorePermit, Response> {
    let wanted = u32::try_from(bytes.min(BODY_BUDGET_BYTES)).unwrap_or(u32::MAX);
    let acquire = Arc::clone(&BUDGET).acquire_many_owned(wanted);
    match tokio::time::timeout(BODY_BUDGET_WAIT, acquire).await {
        Ok(Ok(share)) => Ok(share),
        _ => {
            tracing::warn!(
                instance,
                bytes,
                budget = BODY_BUDGET_BYTES,
                "request refused: the request bodies in flight use the whole body budget"
            );
            let mut response = http_problem(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!(
                    "too many large requests at once (their bodies may hold {BODY_BUDGET_BYTES} \
                     bytes together): try again shortly"
                ),
                instance,
            );
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(BUDGET_RETRY_AFTER_SECS),
            );
            Err(response)
        }
    }
}

/// Reads the request body within its share of the body budget, [`BODY_READ_TIMEOUT`] and
/// `limit` bytes.
pub(super) async fn read_body(
    shared: &Shared,
    body: axum::body::Body,
    limit: usize,
    instance: &str,
) -> Result<ReadBody, Response> {
    let share = reserve(share_of(&body, limit), instance).await?;
    let bytes =
        match tokio::time::timeout(BODY_READ_TIMEOUT, axum::body::to_bytes(body, limit)).await {
            Err(_) => {
                return Err(http_problem(
                    StatusCode::REQUEST_TIMEOUT,
                    "the request body did not arrive in time",
                    instance,
                ));
            }
            Ok(Err(error)) => {
                let over_limit = std::iter::successors(
                    Some(&error as &(dyn std::error::Error + 'static)),
                    |error| error.source(),
                )
                .any(|error| error.to_string().contains("length limit"));
                return Err(if over_limit {
                    too_large(limit, instance)
                } else {
                    problem(
                        shared,
                        &validation(format!("cannot read the request body: {error}"), "body"),
                        None,
                        instance,
                    )
                });
            }
            Ok(Ok(bytes)) => bytes,
        };
    // Without a copy when the bytes are in one piece.
    match String::from_utf8(Vec::from(bytes)) {
        Ok(text) => Ok(ReadBody {
            text,
            _share: share,
        }),
        Err(_) => Err(problem(
            shared,
            &validation("the request body is not UTF-8".to_string(), "body"),
            None,
            instance,
        )),
    }
}
