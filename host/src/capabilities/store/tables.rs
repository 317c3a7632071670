//! What the event-writing modules share: the per-day feedback totals' columns, the size of a
//! multi-row statement, and JSON text of a stored column.

/// The most rows one statement writes (at most 14 parameters a row: far below both engines'
/// limits). Statements are cut into powers of two, so a handful of statement texts, each
/// prepared once per connection, serve every batch size.
pub(super) const ROWS_PER_STATEMENT: usize = 256;

/// The per-day feedback totals and their columns, for `INSERT INTO`.
pub(super) const FEEDBACK_ROLLUP: &str =
    "feedback_rollup (day, algorithm_version, feedback_type, events, valued, value_sum)";

/// A value as the JSON text of its column.
pub(super) fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}
