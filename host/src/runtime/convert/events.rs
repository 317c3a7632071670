//! Monitor events: what a client sent, into the WIT records of `events`; what the policy
//! accepted, back into what the store writes (with a UUID for an event still without an id).

use chrono::{DateTime, Utc};

use super::super::bindings::wit::events as wit;
use crate::types::monitor::{Decision, DecisionInput, Feature, Feedback, FeedbackInput, Refusal};

/// A time as the contract's instant.
pub(crate) fn instant(time: DateTime<Utc>) -> wit::Instant {
    wit::Instant {
        seconds: time.timestamp(),
        nanoseconds: time.timestamp_subsec_nanos(),
    }
}

/// The time of an accepted event; why the store cannot take it otherwise.
fn time(instant: Option<wit::Instant>) -> Result<DateTime<Utc>, String> {
    let instant = instant.ok_or("answered an event without a time")?;
    DateTime::from_timestamp(instant.seconds, instant.nanoseconds)
        .ok_or_else(|| "answered an event at no representable time".to_string())
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
