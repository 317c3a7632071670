//! Monitor events: what a client sent, into the WIT records of `events`; what the policy
//! accepted, back into what the store writes (with a UUID for an event still without an id).
//!
//! Whatever a policy's rules, an accepted event must be storable, and an answer that is not
//! is the policy's fault: numbers finite (processing times not negative), one score per move
//! and at most [`MAX_STORED_MOVES`] moves, times from 1970 to the end of year 9999 (what
//! every host can read back), ids not empty, and no text holding a NUL character (which
//! PostgreSQL cannot store).

use chrono::{DateTime, Utc};

use super::super::bindings::wit::events as wit;
use crate::types::monitor::{Decision, DecisionInput, Feature, Feedback, FeedbackInput, Refusal};

/// The most moves a stored decision may have (the per-day move counts stay bounded).
pub const MAX_STORED_MOVES: usize = 10_000;

/// A time as the contract's instant (a leap second, which chrono counts past 999,999,999
/// nanoseconds, as the last instant of the second before).
pub(crate) fn instant(time: DateTime<Utc>) -> wit::Instant {
    wit::Instant {
        seconds: time.timestamp(),
        nanoseconds: time.timestamp_subsec_nanos().min(999_999_999),
    }
}

/// A rough size of a decision's data, in bytes, to cut long batches into calls.
pub(crate) fn decision_bytes(decision: &wit::Decision) -> usize {
    let text = |text: &Option<String>| text.as_ref().map_or(0, String::len);
    let features: usize = decision
        .song_features
        .iter()
        .map(|(name, value)| {
            32 + name.len()
                + match value {
                    wit::Feature::Number(_) => 8,
                    wit::Feature::Text(text) => text.len(),
                }
        })
        .sum();
    256 + text(&decision.decision_id)
        + text(&decision.user_id)
        + decision.input_song.len()
        + decision
            .recommended_moves
            .iter()
            .map(|id| 16 + id.len())
            .sum::<usize>()
        + 8 * decision.recommendation_scores.len()
        + text(&decision.algorithm_version)
        + decision
            .weights_used
            .iter()
            .map(|(name, _)| 24 + name.len())
            .sum::<usize>()
        + features
        + text(&decision.experiment_id)
        + text(&decision.variation)
}

/// A rough size of a feedback event's data, in bytes.
pub(crate) fn feedback_bytes(feedback: &wit::Feedback) -> usize {
    let text = |text: &Option<String>| text.as_ref().map_or(0, String::len);
    128 + text(&feedback.feedback_id)
        + feedback.decision_id.len()
        + text(&feedback.user_id)
        + feedback.feedback_type.len()
        + text(&feedback.move_id)
        + text(&feedback.comments)
}

/// Refuses a text the store cannot hold.
fn storable_text(field: &str, text: &str) -> Result<(), String> {
    if text.contains('\0') {
        Err(format!("answered a {field} holding a NUL character"))
    } else {
        Ok(())
    }
}

fn storable_id(field: &str, id: &Option<String>) -> Result<(), String> {
    match id.as_deref() {
        Some("") => Err(format!("answered an empty {field}")),
        Some(id) => storable_text(field, id),
        None => Ok(()),
    }
}

fn storable_number(field: &str, value: f64) -> Result<(), String> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(format!("answered a {field} of {value}"))
    }
}

/// The latest time a stored event may have: the end of year 9999 (what every host reads).
const LAST_SECOND: i64 = 253_402_300_799;

/// The time of an accepted event; why the store cannot take it otherwise.
fn time(instant: Option<wit::Instant>) -> Result<DateTime<Utc>, String> {
    let instant = instant.ok_or("answered an event without a time")?;
    if !(0..=LAST_SECOND).contains(&instant.seconds) || instant.nanoseconds >= 1_000_000_000 {
        return Err(format!(
            "answered an event at {}.{:09} s from 1970, outside 1970 to 9999",
            instant.seconds, instant.nanoseconds
        ));
    }
    DateTime::from_timestamp(instant.seconds, instant.nanoseconds)
        .ok_or_else(|| "answered an event at no representable time".to_string())
}

/// Refuses an accepted decision the store cannot hold.
fn storable_decision(decision: &wit::Decision) -> Result<(), String> {
    storable_id("decision_id", &decision.decision_id)?;
    let moves = &decision.recommended_moves;
    if moves.len() > MAX_STORED_MOVES {
        return Err(format!(
            "answered a decision of {} moves (at most {MAX_STORED_MOVES} are stored)",
            moves.len()
        ));
    }
    if decision.recommendation_scores.len() != moves.len() {
        return Err(format!(
            "answered a decision of {} moves with {} scores",
            moves.len(),
            decision.recommendation_scores.len()
        ));
    }
    for text in [&decision.input_song]
        .into_iter()
        .chain(moves)
        .chain(decision.user_id.iter())
        .chain(decision.algorithm_version.iter())
        .chain(decision.experiment_id.iter())
        .chain(decision.variation.iter())
        .chain(decision.weights_used.iter().map(|(name, _)| name))
        .chain(decision.song_features.iter().map(|(name, _)| name))
    {
        storable_text("text", text)?;
    }
    for score in &decision.recommendation_scores {
        storable_number("score", *score)?;
    }
    for (_, weight) in &decision.weights_used {
        storable_number("weight", *weight)?;
    }
    for (_, value) in &decision.song_features {
        match value {
            wit::Feature::Number(number) => storable_number("song feature", *number)?,
            wit::Feature::Text(text) => storable_text("song feature", text)?,
        }
    }
    let processing = decision.processing_time_ms;
    if !(processing.is_finite() && processing >= 0.0) {
        return Err(format!("answered a processing time of {processing} ms"));
    }
    Ok(())
}

/// Refuses accepted feedback the store cannot hold.
fn storable_feedback(feedback: &wit::Feedback) -> Result<(), String> {
    storable_id("feedback_id", &feedback.feedback_id)?;
    storable_id("decision_id", &Some(feedback.decision_id.clone()))?;
    for text in [&feedback.feedback_type]
        .into_iter()
        .chain(feedback.user_id.iter())
        .chain(feedback.move_id.iter())
        .chain(feedback.comments.iter())
    {
        storable_text("text", text)?;
    }
    if let Some(value) = feedback.feedback_value {
        storable_number("feedback value", value)?;
    }
    Ok(())
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl From<DecisionInput> for wit::Decision {
    fn from(input: DecisionInput) -> Self {
        Self {
            decision_id: input.decision_id,
            timestamp: input.timestamp.map(instant),
            user_id: input.user_id,
            input_song: input.input_song,
            recommended_moves: input.recommended_moves,
            recommendation_scores: input.recommendation_scores,
            algorithm_version: input.algorithm_version,
            weights_used: input.weights_used.into_iter().collect(),
            processing_time_ms: input.processing_time_ms,
            song_features: input
                .song_features
                .into_iter()
                .map(|(name, value)| {
                    let value = match value {
                        Feature::Number(number) => wit::Feature::Number(number),
                        Feature::Text(text) => wit::Feature::Text(text),
                    };
                    (name, value)
                })
                .collect(),
            experiment_id: input.experiment_id,
            variation: input.variation,
        }
    }
}

impl From<FeedbackInput> for wit::Feedback {
    fn from(input: FeedbackInput) -> Self {
        Self {
            feedback_id: input.feedback_id,
            decision_id: input.decision_id,
            timestamp: input.timestamp.map(instant),
            user_id: input.user_id,
            feedback_type: input.feedback_type,
            feedback_value: input.feedback_value,
            move_id: input.move_id,
            comments: input.comments,
        }
    }
}

/// A decision the policy accepted, ready to store; why the store cannot take it otherwise.
pub(crate) fn checked_decision(decision: wit::Decision) -> Result<Decision, String> {
    storable_decision(&decision)?;
    Ok(Decision {
        decision_id: decision.decision_id.unwrap_or_else(new_id),
        timestamp: time(decision.timestamp)?,
        user_id: decision.user_id,
        input_song: decision.input_song,
        recommended_moves: decision.recommended_moves,
        recommendation_scores: decision.recommendation_scores,
        algorithm_version: decision
            .algorithm_version
            .ok_or("answered a decision without an algorithm version")?,
        weights_used: decision.weights_used.into_iter().collect(),
        processing_time_ms: decision.processing_time_ms,
        song_features: decision
            .song_features
            .into_iter()
            .map(|(name, value)| {
                let value = match value {
                    wit::Feature::Number(number) => Feature::Number(number),
                    wit::Feature::Text(text) => Feature::Text(text),
                };
                (name, value)
            })
            .collect(),
        experiment_id: decision.experiment_id,
        variation: decision.variation,
    })
}

/// Feedback the policy accepted, ready to store; why the store cannot take it otherwise.
pub(crate) fn checked_feedback(feedback: wit::Feedback) -> Result<Feedback, String> {
    storable_feedback(&feedback)?;
    Ok(Feedback {
        feedback_id: feedback.feedback_id.unwrap_or_else(new_id),
        decision_id: feedback.decision_id,
        timestamp: time(feedback.timestamp)?,
        user_id: feedback.user_id,
        feedback_type: feedback.feedback_type,
        feedback_value: feedback.feedback_value,
        move_id: feedback.move_id,
        comments: feedback.comments,
    })
}

/// A refusal of the store, as the contract's variant.
pub(crate) fn refusal(refusal: Refusal) -> wit::Refusal {
    match refusal {
        Refusal::UnknownDecision(id) => wit::Refusal::UnknownDecision(id),
        Refusal::UnknownMove {
            decision_id,
            move_id,
        } => wit::Refusal::UnknownMove(wit::MoveRef {
            decision_id,
            move_id,
        }),
        Refusal::Conflict { field, id } => wit::Refusal::Conflict(wit::RepeatedId {
            field: field.to_string(),
            id,
        }),
    }
}
