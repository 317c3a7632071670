//! The performance monitor's event rules (`events`): what a decision of the recommender and a
//! user's feedback must meet before a host stores them, the defaults they get, and the
//! messages of the events a host refuses for what only its store can tell.
//!
//! ```
//! use bachata_common_policy::events::{self, Decision, Instant};
//! let now = Instant { seconds: 1_790_000_000, nanoseconds: 0 };
//! let sent = Decision {
//!     decision_id: None,
//!     timestamp: None,
//!     user_id: None,
//!     input_song: "Obsesión".into(),
//!     recommended_moves: vec!["basic".into()],
//!     recommendation_scores: vec![-0.0],
//!     algorithm_version: None,
//!     weights_used: Vec::new(),
//!     processing_time_ms: 12.0,
//!     song_features: Vec::new(),
//!     experiment_id: None,
//!     variation: None,
//! };
//! let checked = events::check_decisions(vec![sent], now, None).unwrap();
//! assert_eq!(checked[0].algorithm_version.as_deref(), Some("1.0"));
//! assert_eq!(checked[0].recommendation_scores[0].to_bits(), 0.0f64.to_bits());
//! ```

use crate::catalog;
use crate::types::{AppError, ErrorKind, ValidationContext};

pub use crate::bindings::exports::bachata::common::events::{
    Decision, Feature, Feedback, Instant, MoveRef, Refusal, RepeatedId,
};

use self::checks::{
    check_bounded, check_entries, check_finite, check_free_text, check_id, check_optional_id,
    check_optional_text, check_text, check_timestamp, shorten,
};

/// The algorithm version of a decision that names none.
pub const DEFAULT_ALGORITHM_VERSION: &str = "1.0";
/// The feedback types.
pub const FEEDBACK_TYPES: [&str; 5] = ["rating", "like", "dislike", "skip", "use"];
/// The longest comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 2_000;
/// The most moves one decision may recommend.
pub const MAX_MOVES: usize = 1_000;
/// The most entries of `weights_used` or `song_features`.
pub const MAX_ENTRIES: usize = 256;
/// The longest id (`decision_id`, `feedback_id`, `experiment_id`, …), in bytes.
pub const MAX_ID_BYTES: usize = 128;
/// The longest free text (a song, a move id, a user id, a feature's text), in characters.
pub const MAX_TEXT_CHARS: usize = 1_000;
/// The longest processing time of a decision, in milliseconds (one day).
pub const MAX_PROCESSING_TIME_MS: f64 = 86_400_000.0;
/// The largest magnitude of a score, weight or feedback value.
pub const MAX_MAGNITUDE: f64 = 1e9;
/// The largest magnitude of a numeric song feature (integers up to it are exact).
pub const MAX_FEATURE_MAGNITUDE: f64 = 1e15;
/// How far in the future a timestamp may be (clocks of a fleet differ a little), in seconds.
pub const MAX_CLOCK_SKEW_SECS: i128 = 24 * 3600;

/// A `VALIDATION_ERROR` naming `field`, with the rejected value shortened to 120 characters.
pub fn invalid(field: &str, value: Option<&str>, message: String) -> AppError {
    catalog::make_error(
        ErrorKind::Validation(ValidationContext {
            field: Some(field.to_string()),
            value: value.map(shorten),
        }),
        message,
        Vec::new(),
    )
}

/// Names the event of a batch in an error: `field` becomes `[index].field` and the message
/// starts with `event <index>: `.
pub fn in_batch(error: AppError, index: usize) -> AppError {
    match error.kind {
        ErrorKind::Validation(context) => invalid_in_batch(context, error.message, index),
        _ => error,
    }
}

fn invalid_in_batch(context: ValidationContext, message: String, index: usize) -> AppError {
    let field = context.field.map(|field| format!("[{index}].{field}"));
    catalog::make_error(
        ErrorKind::Validation(ValidationContext {
            field,
            value: context.value,
        }),
        format!("event {index}: {message}"),
        Vec::new(),
    )
}

/// `-0` as `0`: one zero, so a latency sorts with the others and a retry compares equal.
fn positive_zero(value: f64) -> f64 {
    value + 0.0
}

/// Checks every event with `check`; in a batch whose first event is at `batch_start`, an
/// error names the event by its index in the batch.
fn check_all<E>(
    events: Vec<E>,
    batch_start: Option<u32>,
    check: impl Fn(E) -> Result<E, AppError>,
) -> Result<Vec<E>, AppError> {
    events
        .into_iter()
        .enumerate()
        .map(|(offset, event)| {
            check(event).map_err(|error| match batch_start {
                Some(start) => in_batch(error, start as usize + offset),
                None => error,
            })
        })
        .collect()
}

/// `events.check-decisions`.
pub fn check_decisions(
    events: Vec<Decision>,
    now: Instant,
    batch_start: Option<u32>,
) -> Result<Vec<Decision>, AppError> {
    check_all(events, batch_start, |event| check_decision(event, now))
}

/// `events.check-feedback`.
pub fn check_feedback(
    events: Vec<Feedback>,
    now: Instant,
    batch_start: Option<u32>,
) -> Result<Vec<Feedback>, AppError> {
    check_all(events, batch_start, |event| check_one_feedback(event, now))
}

/// Entries sorted by name; a name given twice is refused.
fn by_name<V>(field: &str, mut entries: Vec<(String, V)>) -> Result<Vec<(String, V)>, AppError> {
    check_entries(field, entries.len())?;
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(pair) = entries.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        let name = &pair[0].0;
        return Err(invalid(
            field,
            Some(name),
            format!("{field} names {:?} twice", shorten(name)),
        ));
    }
    Ok(entries)
}

/// Checks one decision and fills in its defaults.
pub fn check_decision(decision: Decision, now: Instant) -> Result<Decision, AppError> {
    check_optional_id("decision_id", &decision.decision_id)?;
    let timestamp = check_timestamp("timestamp", decision.timestamp, now)?;
    check_optional_text("user_id", &decision.user_id)?;
    check_text("input_song", &decision.input_song, MAX_TEXT_CHARS)?;
    let moves = &decision.recommended_moves;
    if moves.len() > MAX_MOVES {
        return Err(invalid(
            "recommended_moves",
            None,
            format!(
                "recommended_moves lists {} moves; at most {MAX_MOVES} are allowed",
                moves.len()
            ),
        ));
    }
    for (i, id) in moves.iter().enumerate() {
        // The field is named only for an error: most events break no rule.
        check_text("", id, MAX_TEXT_CHARS)
            .or_else(|_| check_text(&format!("recommended_moves[{i}]"), id, MAX_TEXT_CHARS))?;
    }
    let scores = &decision.recommendation_scores;
    if scores.len() != moves.len() {
        return Err(invalid(
            "recommendation_scores",
            Some(&scores.len().to_string()),
            format!(
                "recommendation_scores has {} values but recommended_moves has {} moves; they must be the same length",
                scores.len(),
                moves.len()
            ),
        ));
    }
    for (i, score) in scores.iter().enumerate() {
        check_finite("", *score)
            .or_else(|_| check_finite(&format!("recommendation_scores[{i}]"), *score))?;
    }
    let algorithm_version = decision
        .algorithm_version
        .unwrap_or_else(|| DEFAULT_ALGORITHM_VERSION.to_string());
    check_id("algorithm_version", &algorithm_version)?;
    let weights_used = by_name("weights_used", decision.weights_used)?;
    for (name, weight) in &weights_used {
        check_text("weights_used", name, MAX_TEXT_CHARS)?;
        check_finite("", *weight)
            .or_else(|_| check_finite(&format!("weights_used.{name}"), *weight))?;
    }
    let processing = decision.processing_time_ms;
    if !(0.0..=MAX_PROCESSING_TIME_MS).contains(&processing) {
        return Err(invalid(
            "processing_time_ms",
            Some(&processing.to_string()),
            format!(
                "processing_time_ms must be from 0 to {MAX_PROCESSING_TIME_MS} (one day), not {processing}"
            ),
        ));
    }
    let song_features = by_name("song_features", decision.song_features)?;
    for (name, value) in &song_features {
        check_text("song_features", name, MAX_TEXT_CHARS)?;
        let field = || format!("song_features.{name}");
        match value {
            Feature::Number(number) => check_bounded("", *number, MAX_FEATURE_MAGNITUDE)
                .or_else(|_| check_bounded(&field(), *number, MAX_FEATURE_MAGNITUDE))?,
            Feature::Text(text) if text.chars().count() > MAX_TEXT_CHARS => {
                let field = field();
                return Err(invalid(
                    &field,
                    Some(text),
                    format!("{field} is longer than {MAX_TEXT_CHARS} characters"),
                ));
            }
            Feature::Text(text) => {
                check_free_text("", text).or_else(|_| check_free_text(&field(), text))?;
            }
        }
    }
    check_optional_id("experiment_id", &decision.experiment_id)?;
    check_optional_id("variation", &decision.variation)?;
    Ok(Decision {
        timestamp: Some(timestamp),
        recommendation_scores: decision
            .recommendation_scores
            .into_iter()
            .map(positive_zero)
            .collect(),
        algorithm_version: Some(algorithm_version),
        weights_used: weights_used
            .into_iter()
            .map(|(name, weight)| (name, positive_zero(weight)))
            .collect(),
        processing_time_ms: positive_zero(processing),
        song_features: song_features
            .into_iter()
            .map(|(name, value)| match value {
                Feature::Number(number) => (name, Feature::Number(positive_zero(number))),
                text => (name, text),
            })
            .collect(),
        ..decision
    })
}

/// Checks one feedback (every rule that needs no stored decision) and fills in its time.
pub fn check_one_feedback(feedback: Feedback, now: Instant) -> Result<Feedback, AppError> {
    check_optional_id("feedback_id", &feedback.feedback_id)?;
    check_id("decision_id", &feedback.decision_id)?;
    let timestamp = check_timestamp("timestamp", feedback.timestamp, now)?;
    check_optional_text("user_id", &feedback.user_id)?;
    let kind = feedback.feedback_type.as_str();
    if !FEEDBACK_TYPES.contains(&kind) {
        return Err(invalid(
            "feedback_type",
            Some(kind),
            format!(
                "unknown feedback_type {:?}: expected one of rating, like, dislike, skip, use",
                shorten(kind)
            ),
        ));
    }
    match (kind, feedback.feedback_value) {
        ("rating", None) => {
            return Err(invalid(
                "feedback_value",
                None,
                "feedback_value is required for a rating (1 to 5)".to_string(),
            ));
        }
        ("rating", Some(value)) if !(1.0..=5.0).contains(&value) => {
            return Err(invalid(
                "feedback_value",
                Some(&value.to_string()),
                format!("a rating must be from 1 to 5, not {value}"),
            ));
        }
        (_, Some(value)) => check_finite("feedback_value", value)?,
        (_, None) => {}
    }
    check_optional_text("move_id", &feedback.move_id)?;
    if let Some(comments) = &feedback.comments {
        check_free_text("comments", comments)?;
        let count = comments.chars().count();
        if count > MAX_COMMENT_CHARS {
            return Err(invalid(
                "comments",
                None,
                format!("comments has {count} characters; at most {MAX_COMMENT_CHARS} are allowed"),
            ));
        }
    }
    Ok(Feedback {
        timestamp: Some(timestamp),
        feedback_value: feedback.feedback_value.map(positive_zero),
        ..feedback
    })
}

/// `events.refused`: the error for an event the host's store refused.
pub fn refused(refusal: Refusal, index: Option<u32>) -> AppError {
    let error = match refusal {
        Refusal::UnknownDecision(id) => invalid(
            "decision_id",
            Some(&id),
            format!("no decision {:?} is stored", shorten(&id)),
        ),
        Refusal::UnknownMove(MoveRef {
            decision_id,
            move_id,
        }) => invalid(
            "move_id",
            Some(&move_id),
            format!(
                "{:?} is not one of decision {:?}'s moves",
                shorten(&move_id),
                shorten(&decision_id)
            ),
        ),
        Refusal::Conflict(RepeatedId { field, id }) => invalid(
            &field,
            Some(&id),
            format!(
                "{field} {:?} is already stored with other content",
                shorten(&id)
            ),
        ),
    };
    match index {
        Some(index) => in_batch(error, index as usize),
        None => error,
    }
}

mod checks;
#[cfg(test)]
mod tests;
