//! `POST /v1/cleanup` with `"removals_log": true`: the answer is `application/x-ndjson`, one
//! JSON object per removal (spooled to an anonymous file during the cleanup, so memory does
//! not grow with it), then one last line `{"report": …}` with the cleanup document.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::services::resources::cleanup_json;
use crate::types::cleanup::CleanupReport;

/// Bytes read from the spool per chunk of the body.
const CHUNK: usize = 64 << 10;

/// The response: the spooled removals, then the report line.
pub(super) fn stream(mut spool: File, report: &CleanupReport) -> Response {
    let mut last = serde_json::json!({ "report": cleanup_json(report) }).to_string();
    last.push('\n');
    if let Err(error) = spool.seek(SeekFrom::Start(0)) {
        tracing::error!(%error, "cannot read back the removals spool");
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot read the removals log",
        )
            .into_response();
    }
    let chunks = futures_util::stream::unfold(Some((spool, Some(last))), |state| async move {
        let (spool, last) = state?;
        let read = tokio::task::spawn_blocking(move || {
            let mut spool = spool;
            let mut buffer = vec![0u8; CHUNK];
            let read = spool.read(&mut buffer);
            (spool, buffer, read)
        })
        .await;
        match read {
            Ok((spool, mut buffer, Ok(read))) if read > 0 => {
                buffer.truncate(read);
                Some((Ok::<_, std::io::Error>(buffer), Some((spool, last))))
            }
            Ok((_, _, Ok(_))) => last.map(|line| (Ok(line.into_bytes()), None)),
            Ok((_, _, Err(error))) => Some((Err(error), None)),
            Err(error) => Some((Err(std::io::Error::other(error)), None)),
        }
    });
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(chunks),
    )
        .into_response()
}
