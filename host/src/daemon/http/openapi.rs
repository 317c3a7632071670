//! `GET /openapi.json`: the OpenAPI 3.1 document of every endpoint (`host/openapi.json`,
//! compiled in), open to every client like the other reads. `tests/e2e/openapi.rs` checks
//! that it lists exactly the router's routes and that real answers fit its schemas.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The document, as written in the repository.
pub const DOCUMENT: &str = include_str!("../../../openapi.json");

/// `GET /openapi.json`.
pub(super) async fn document() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT).into_response()
}

#[cfg(test)]
mod tests {
    use super::DOCUMENT;

    #[test]
    fn the_document_is_openapi_3_1_json() {
        let document: serde_json::Value = serde_json::from_str(DOCUMENT).expect("JSON");
        assert_eq!(document["openapi"], "3.1.0");
        assert!(document["paths"]["/openapi.json"]["get"].is_object());
    }
}
