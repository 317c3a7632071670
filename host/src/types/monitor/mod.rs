//! The performance monitor's events: what a client sends (a decision of the recommender, a
//! user's feedback on one), the rules an event must meet before it is stored, and the
//! metrics and report the monitor answers with.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use self::checks::{
    check_bounded, check_entries, check_finite, check_free_text, check_id, check_optional_id,
    check_optional_text, check_text, check_timestamp, shorten,
};
use super::error::AppError;

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
pub const MAX_CLOCK_SKEW_SECS: i64 = 24 * 3600;

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
    /// The recommender's version; `1.0` when absent.
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

/// A decision that met the rules, ready to store.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Feedback {
    /// Its id.
    pub feedback_id: String,
    /// The decision.
    pub decision_id: String,
    /// When it was given.
    pub timestamp: DateTime<Utc>,
    /// Who gave it.
    pub user_id: Option<String>,
    /// Its type (one of [`FEEDBACK_TYPES`]).
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

/// `-0` as `0`: one zero, so a latency sorts with the others and a retry compares equal.
fn positive_zero(value: f64) -> f64 {
    value + 0.0
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl DecisionInput {
    /// Checks every rule; fills in the id, the time and the version.
    pub fn validate(self, now: DateTime<Utc>) -> Result<Decision, AppError> {
        check_optional_id("decision_id", &self.decision_id)?;
        let timestamp = check_timestamp("timestamp", self.timestamp, now)?;
        check_optional_text("user_id", &self.user_id)?;
        check_text("input_song", &self.input_song, MAX_TEXT_CHARS)?;
        if self.recommended_moves.len() > MAX_MOVES {
            return Err(invalid(
                "recommended_moves",
                None,
                format!(
                    "recommended_moves lists {} moves; at most {MAX_MOVES} are allowed",
                    self.recommended_moves.len()
                ),
            ));
        }
        for (i, id) in self.recommended_moves.iter().enumerate() {
            check_text(&format!("recommended_moves[{i}]"), id, MAX_TEXT_CHARS)?;
        }
        if self.recommendation_scores.len() != self.recommended_moves.len() {
            return Err(invalid(
                "recommendation_scores",
                Some(self.recommendation_scores.len().to_string()),
                format!(
                    "recommendation_scores has {} values but recommended_moves has {} moves; they must be the same length",
                    self.recommendation_scores.len(),
                    self.recommended_moves.len()
                ),
            ));
        }
        for (i, score) in self.recommendation_scores.iter().enumerate() {
            check_finite(&format!("recommendation_scores[{i}]"), *score)?;
        }
        let algorithm_version = self
            .algorithm_version
            .unwrap_or_else(|| DEFAULT_ALGORITHM_VERSION.to_string());
        check_id("algorithm_version", &algorithm_version)?;
        check_entries("weights_used", self.weights_used.len())?;
        for (name, weight) in &self.weights_used {
            check_text("weights_used", name, MAX_TEXT_CHARS)?;
            check_finite(&format!("weights_used.{name}"), *weight)?;
        }
        if !(0.0..=MAX_PROCESSING_TIME_MS).contains(&self.processing_time_ms) {
            return Err(invalid(
                "processing_time_ms",
                Some(self.processing_time_ms.to_string()),
                format!(
                    "processing_time_ms must be from 0 to {MAX_PROCESSING_TIME_MS} (one day), \
                     not {}",
                    self.processing_time_ms
                ),
            ));
        }
        check_entries("song_features", self.song_features.len())?;
        for (name, value) in &self.song_features {
            check_text("song_features", name, MAX_TEXT_CHARS)?;
            match value {
                Feature::Number(number) => check_bounded(
                    &format!("song_features.{name}"),
                    *number,
                    MAX_FEATURE_MAGNITUDE,
                )?,
                Feature::Text(text) if text.chars().count() > MAX_TEXT_CHARS => {
                    return Err(invalid(
                        &format!("song_features.{name}"),
                        Some(text.clone()),
                        format!("song_features.{name} is longer than {MAX_TEXT_CHARS} characters"),
                    ));
                }
                Feature::Text(text) => check_free_text(&format!("song_features.{name}"), text)?,
            }
        }
        check_optional_id("experiment_id", &self.experiment_id)?;
        check_optional_id("variation", &self.variation)?;
        Ok(Decision {
            decision_id: self.decision_id.unwrap_or_else(new_id),
            timestamp,
            user_id: self.user_id,
            input_song: self.input_song,
            recommended_moves: self.recommended_moves,
            recommendation_scores: self
                .recommendation_scores
                .into_iter()
                .map(positive_zero)
                .collect(),
            algorithm_version,
            weights_used: self
                .weights_used
                .into_iter()
                .map(|(name, weight)| (name, positive_zero(weight)))
                .collect(),
            processing_time_ms: positive_zero(self.processing_time_ms),
            song_features: self
                .song_features
                .into_iter()
                .map(|(name, value)| match value {
                    Feature::Number(number) => (name, Feature::Number(positive_zero(number))),
                    text => (name, text),
                })
                .collect(),
            experiment_id: self.experiment_id,
            variation: self.variation,
        })
    }
}

impl FeedbackInput {
    /// Checks every rule that needs no stored decision; fills in the id and the time.
    pub fn validate(self, now: DateTime<Utc>) -> Result<Feedback, AppError> {
        check_optional_id("feedback_id", &self.feedback_id)?;
        check_id("decision_id", &self.decision_id)?;
        let timestamp = check_timestamp("timestamp", self.timestamp, now)?;
        check_optional_text("user_id", &self.user_id)?;
        if !FEEDBACK_TYPES.contains(&self.feedback_type.as_str()) {
            return Err(invalid(
                "feedback_type",
                Some(self.feedback_type.clone()),
                format!(
                    "unknown feedback_type {:?}: expected one of rating, like, dislike, skip, use",
                    shorten(&self.feedback_type)
                ),
            ));
        }
        match (self.feedback_type.as_str(), self.feedback_value) {
            ("rating", None) => {
                return Err(invalid(
                    "feedback_value",
                    None,
                    "feedback_value is required for a rating (1 to 5)",
                ));
            }
            ("rating", Some(value)) if !(1.0..=5.0).contains(&value) => {
                return Err(invalid(
                    "feedback_value",
                    Some(value.to_string()),
                    format!("a rating must be from 1 to 5, not {value}"),
                ));
            }
            (_, Some(value)) => check_finite("feedback_value", value)?,
            (_, None) => {}
        }
        check_optional_text("move_id", &self.move_id)?;
        if let Some(comments) = &self.comments {
            check_free_text("comments", comments)?;
        }
        if let Some(comments) = &self.comments
            && comments.chars().count() > MAX_COMMENT_CHARS
        {
            return Err(invalid(
                "comments",
                None,
                format!(
                    "comments has {} characters; at most {MAX_COMMENT_CHARS} are allowed",
                    comments.chars().count()
                ),
            ));
        }
        Ok(Feedback {
            feedback_id: self.feedback_id.unwrap_or_else(new_id),
            decision_id: self.decision_id,
            timestamp,
            user_id: self.user_id,
            feedback_type: self.feedback_type,
            feedback_value: self.feedback_value.map(positive_zero),
            move_id: self.move_id,
            comments: self.comments,
        })
    }
}

/// An event as a client sends it, checked into what is stored.
pub trait Event {
    /// The event once checked.
    type Checked;
    /// Checks every rule that needs no stored data.
    fn check(self, now: DateTime<Utc>) -> Result<Self::Checked, AppError>;
}

impl Event for DecisionInput {
    type Checked = Decision;
    fn check(self, now: DateTime<Utc>) -> Result<Decision, AppError> {
        self.validate(now)
    }
}

impl Event for FeedbackInput {
    type Checked = Feedback;
    fn check(self, now: DateTime<Utc>) -> Result<Feedback, AppError> {
        self.validate(now)
    }
}

/// Checks every event; in a `batch`, an error names the event as `[index].field`.
pub fn check_all<E: Event>(
    inputs: Vec<E>,
    batch: bool,
    now: DateTime<Utc>,
) -> Result<Vec<E::Checked>, AppError> {
    inputs
        .into_iter()
        .enumerate()
        .map(|(index, input)| {
            input
                .check(now)
                .map_err(|error| if batch { in_batch(error, index) } else { error })
        })
        .collect()
}

/// Names the event of a batch in an error: `field` becomes `[index].field`.
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

mod checks;
#[cfg(test)]
mod tests;
