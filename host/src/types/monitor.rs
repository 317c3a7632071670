//! The performance monitor's events: what a client sends (a decision of the recommender, a
//! user's feedback on one) and what is stored once the policy's event rules (`events`) accepted
//! it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::AppError;

/// A value of `song_features`: a number or a text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Feature {
    /// A number (tempo, energy…).
    Number(f64),
    /// A text (key, genre…).
    Text(String),
}

/// A recommendation decision as a client sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// The decision's id; a UUID is generated when absent.
    #[serde(default)]
    pub decision_id: Option<String>,
    /// When it was made (RFC 3339); now when absent.
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
    /// Who it was made for.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The song the moves were picked for.
    pub input_song: String,
    /// The moves recommended, best first.
    pub recommended_moves: Vec<String>,
    /// One score per move.
    pub recommendation_scores: Vec<f64>,
    /// The recommender's version; the policy's default (`1.0`) when absent.
    #[serde(default)]
    pub algorithm_version: Option<String>,
    /// The weights the recommender used.
    #[serde(default)]
    pub weights_used: BTreeMap<String, f64>,
    /// How long the recommendation took, in milliseconds.
    pub processing_time_ms: f64,
    /// Features of the song.
    #[serde(default)]
    pub song_features: BTreeMap<String, Feature>,
    /// The experiment the decision was made in.
    #[serde(default)]
    pub experiment_id: Option<String>,
    /// The experiment's variation served.
    #[serde(default)]
    pub variation: Option<String>,
}

/// A user's feedback on a decision as a client sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackInput {
    /// The feedback's id; a UUID is generated when absent.
    #[serde(default)]
    pub feedback_id: Option<String>,
    /// The decision it is about (must be stored).
    pub decision_id: String,
    /// When it was given (RFC 3339); now when absent.
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
    /// Who gave it.
    #[serde(default)]
    pub user_id: Option<String>,
    /// `rating`, `like`, `dislike`, `skip` or `use`.
    pub feedback_type: String,
    /// The rating, 1 to 5 (required for `rating`).
    #[serde(default)]
    pub feedback_value: Option<f64>,
    /// The move it is about (one of the decision's moves).
    #[serde(default)]
    pub move_id: Option<String>,
    /// Free text, at most 2,000 characters.
    #[serde(default)]
    pub comments: Option<String>,
}

/// A decision that met the policy's rules, ready to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Its id.
    pub decision_id: String,
    /// When it was made.
    pub timestamp: DateTime<Utc>,
    /// Who it was made for.
    pub user_id: Option<String>,
    /// The song.
    pub input_song: String,
    /// The moves, best first.
    pub recommended_moves: Vec<String>,
    /// One score per move.
    pub recommendation_scores: Vec<f64>,
    /// The recommender's version.
    pub algorithm_version: String,
    /// The weights used.
    pub weights_used: BTreeMap<String, f64>,
    /// Processing time, in milliseconds.
    pub processing_time_ms: f64,
    /// Song features.
    pub song_features: BTreeMap<String, Feature>,
    /// The experiment.
    pub experiment_id: Option<String>,
    /// The variation.
    pub variation: Option<String>,
}

/// Feedback that met the rules (its decision and move are checked when it is stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// Its id.
    pub feedback_id: String,
    /// The decision.
    pub decision_id: String,
    /// When it was given.
    pub timestamp: DateTime<Utc>,
    /// Who gave it.
    pub user_id: Option<String>,
    /// Its type (`rating`, `like`, `dislike`, `skip` or `use` under the stock rules).
    pub feedback_type: String,
    /// Its value.
    pub feedback_value: Option<f64>,
    /// The move.
    pub move_id: Option<String>,
    /// Comments.
    pub comments: Option<String>,
}

/// What happened to one event of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Logged {
    /// The event's id (given or generated).
    pub id: String,
    /// `false` when an event with this id was already stored (a retry): nothing was written.
    pub stored: bool,
}

/// A `VALIDATION_ERROR` naming `field` (with the index of the event in a batch, when in one).
pub fn invalid(field: &str, value: Option<String>, message: impl Into<String>) -> AppError {
    AppError::Validation {
        message: message.into(),
        field: Some(field.to_string()),
        value: value.map(|value| shorten(&value)),
        details: Vec::new(),
    }
}

/// At most 120 characters of a rejected value, for error messages.
fn shorten(value: &str) -> String {
    match value.char_indices().nth(120) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_string(),
    }
}

/// Why the store refused an event that met the policy's rules: what only stored events tell.
/// The policy words the error (`events.refused`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The feedback names a decision that is not stored.
    UnknownDecision(String),
    /// The feedback names a move its decision did not recommend.
    UnknownMove {
        /// The decision.
        decision_id: String,
        /// The move.
        move_id: String,
    },
    /// An id is stored, or comes earlier in the batch, with other content.
    Conflict {
        /// `decision_id` or `feedback_id`.
        field: &'static str,
        /// The id.
        id: String,
    },
}

/// Names the event of a batch in an error the host made (an event that does not decode):
/// `field` becomes `[index].field`, as the policy names the events its rules refuse.
pub fn in_batch(error: AppError, index: usize) -> AppError {
    match error {
        AppError::Validation {
            message,
            field,
            value,
            details,
        } => AppError::Validation {
            message: format!("event {index}: {message}"),
            field: field.map(|field| format!("[{index}].{field}")),
            value,
            details,
        },
        other => other,
    }
}
