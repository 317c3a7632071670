//! `events.json` (see `tests/vectors/README.md`): the component's `events` through the host
//! (`Policy::check_decisions`, `check_feedback` and `refused`), and the same rules built natively
//! (`bachata_common_policy::events`), which take the contract's records as they are.
//!
//! The host's records hold `weights-used` and `song-features` as maps by name, so a case that
//! gives a name twice only runs natively; and the host gives an event without an id a new UUID,
//! which stands for the `null` id the component answered.

use std::collections::BTreeMap;

use bachata_common::monitor::{self, DecisionInput, FeedbackInput};
use bachata_common::{AppError, Error, Policy};
use bachata_common_policy::events as native;
use bachata_common_policy::types::{
    self as wit, EventDecision, EventFeedback, Feature, Instant, MoveRef, Refusal, RepeatedId,
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{items, text, vectors};

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("a number: {value}"))
}

fn string(value: &Value) -> String {
    text(value).unwrap_or_else(|| panic!("a text: {value}"))
}

fn instant(value: &Value) -> Instant {
    Instant {
        seconds: value["seconds"].as_i64().expect("seconds"),
        nanoseconds: u32::try_from(value["nanoseconds"].as_u64().expect("nanoseconds"))
            .expect("a u32"),
    }
}

fn optional_instant(value: &Value) -> Option<Instant> {
    (!value.is_null()).then(|| instant(value))
}

fn feature(value: &Value) -> Feature {
    match value["tag"].as_str().expect("tag") {
        "number" => Feature::Number(number(&value["val"])),
        "text" => Feature::Text(string(&value["val"])),
        other => panic!("unknown feature case {other}"),
    }
}

/// A `list<tuple<string, T>>`: two-element arrays.
fn named<T>(value: &Value, item: impl Fn(&Value) -> T) -> Vec<(String, T)> {
    items(value)
        .iter()
        .map(|pair| (string(&pair[0]), item(&pair[1])))
        .collect()
}

/// The file's base record with the event's fields in their place.
fn merged(base: &Value, event: &Value) -> Value {
    let mut record = base.as_object().expect("a base record").clone();
    for (key, value) in event.as_object().expect("an event") {
        record.insert(key.clone(), value.clone());
    }
    Value::Object(record)
}

fn decision(value: &Value) -> EventDecision {
    EventDecision {
        decision_id: text(&value["decision-id"]),
        timestamp: optional_instant(&value["timestamp"]),
        user_id: text(&value["user-id"]),
        input_song: string(&value["input-song"]),
        recommended_moves: items(&value["recommended-moves"])
            .iter()
            .map(string)
            .collect(),
        recommendation_scores: items(&value["recommendation-scores"])
            .iter()
            .map(number)
            .collect(),
        algorithm_version: text(&value["algorithm-version"]),
        weights_used: named(&value["weights-used"], number),
        processing_time_ms: number(&value["processing-time-ms"]),
        song_features: named(&value["song-features"], feature),
        experiment_id: text(&value["experiment-id"]),
        variation: text(&value["variation"]),
    }
}

fn feedback(value: &Value) -> EventFeedback {
    EventFeedback {
        feedback_id: text(&value["feedback-id"]),
        decision_id: string(&value["decision-id"]),
        timestamp: optional_instant(&value["timestamp"]),
        user_id: text(&value["user-id"]),
        feedback_type: string(&value["feedback-type"]),
        feedback_value: value["feedback-value"].as_f64(),
        move_id: text(&value["move-id"]),
        comments: text(&value["comments"]),
    }
}

fn refusal(value: &Value) -> Refusal {
    let val = &value["val"];
    match value["tag"].as_str().expect("tag") {
        "unknown-decision" => Refusal::UnknownDecision(string(val)),
        "unknown-move" => Refusal::UnknownMove(MoveRef {
            decision_id: string(&val["decision-id"]),
            move_id: string(&val["move-id"]),
        }),
        "conflict" => Refusal::Conflict(RepeatedId {
            field: string(&val["field"]),
            id: string(&val["id"]),
        }),
        other => panic!("unknown refusal case {other}"),
    }
}

fn instant_json(instant: Instant) -> Value {
    json!({"seconds": instant.seconds, "nanoseconds": instant.nanoseconds})
}

fn feature_json(feature: &Feature) -> Value {
    match feature {
        Feature::Number(number) => json!({"tag": "number", "val": number}),
        Feature::Text(text) => json!({"tag": "text", "val": text}),
    }
}

fn decision_json(decision: &EventDecision) -> Value {
    json!({
        "decision-id": decision.decision_id,
        "timestamp": decision.timestamp.map(instant_json),
        "user-id": decision.user_id,
        "input-song": decision.input_song,
        "recommended-moves": decision.recommended_moves,
        "recommendation-scores": decision.recommendation_scores,
        "algorithm-version": decision.algorithm_version,
        "weights-used": decision.weights_used,
        "processing-time-ms": decision.processing_time_ms,
        "song-features": decision
            .song_features
            .iter()
            .map(|(name, value)| json!([name, feature_json(value)]))
            .collect::<Vec<_>>(),
        "experiment-id": decision.experiment_id,
        "variation": decision.variation,
    })
}

fn feedback_json(feedback: &EventFeedback) -> Value {
    json!({
        "feedback-id": feedback.feedback_id,
        "decision-id": feedback.decision_id,
        "timestamp": feedback.timestamp.map(instant_json),
        "user-id": feedback.user_id,
        "feedback-type": feedback.feedback_type,
        "feedback-value": feedback.feedback_value,
        "move-id": feedback.move_id,
        "comments": feedback.comments,
    })
}

/// The contract's `app-error`, as the native rules made it.
fn native_error_json(error: &wit::AppError) -> Value {
    let kind = match &error.kind {
        wit::ErrorKind::Validation(context) => {
            json!({"tag": "validation", "val": {"field": context.field, "value": context.value}})
        }
        other => json!({"tag": format!("{other:?}")}),
    };
    json!({
        "kind": kind,
        "message": error.message,
        "error-code": error.error_code,
        "details": error.details,
    })
}

/// The contract's `app-error` a host error came from: the kind's context first in `details`.
fn host_error_json(error: &AppError) -> Value {
    let AppError::Validation {
        message,
        field,
        value,
        details,
    } = error
    else {
        panic!("not a validation error: {error:?}");
    };
    let context = [("field", field), ("value", value)]
        .into_iter()
        .filter_map(|(key, item)| item.clone().map(|item| (key.to_string(), item)));
    json!({
        "kind": {"tag": "validation", "val": {"field": field, "value": value}},
        "message": message,
        "error-code": error.error_code(),
        "details": context.chain(details.iter().cloned()).collect::<Vec<_>>(),
    })
}

fn result_json<T>(result: Result<Vec<T>, wit::AppError>, ok: impl Fn(&T) -> Value) -> Value {
    match result {
        Ok(events) => json!({"tag": "ok", "val": events.iter().map(ok).collect::<Vec<_>>()}),
        Err(error) => json!({"tag": "err", "val": native_error_json(&error)}),
    }
}

/// A host answer as the contract's `result`: an event's new UUID stands for the `null` id it
/// got from the component, where the case expects `null` (`id` names the id's field).
fn host_result_json<T>(
    result: Result<Vec<T>, Error>,
    ok: impl Fn(T) -> Value,
    id: &str,
    expect: &Value,
) -> Value {
    match result {
        Ok(events) => {
            let events = events.into_iter().enumerate().map(|(index, event)| {
                let mut event = ok(event);
                let generated = event[id].as_str().is_some_and(is_uuid);
                if generated && expect["val"][index][id].is_null() {
                    event[id] = Value::Null;
                }
                event
            });
            json!({"tag": "ok", "val": events.collect::<Vec<_>>()})
        }
        Err(Error::App(error)) => json!({"tag": "err", "val": host_error_json(&error)}),
        Err(other) => panic!("not an error of the rules: {other}"),
    }
}

/// Whether `id` is a UUID as the host writes them (`8-4-4-4-12` lowercase hex digits).
fn is_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.iter().map(|group| group.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|group| {
            group
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
}

fn datetime(instant: Instant) -> DateTime<Utc> {
    DateTime::from_timestamp(instant.seconds, instant.nanoseconds).expect("a representable time")
}

fn back(time: DateTime<Utc>) -> Instant {
    Instant {
        seconds: time.timestamp(),
        nanoseconds: time.timestamp_subsec_nanos(),
    }
}

/// Entries by name; `None` when a name repeats (a map cannot hold it).
fn by_name<T>(entries: &[(String, T)], item: impl Fn(&T) -> T) -> Option<BTreeMap<String, T>> {
    let map: BTreeMap<String, T> = entries
        .iter()
        .map(|(name, value)| (name.clone(), item(value)))
        .collect();
    (map.len() == entries.len()).then_some(map)
}

fn host_feature(feature: &Feature) -> monitor::Feature {
    match feature {
        Feature::Number(number) => monitor::Feature::Number(*number),
        Feature::Text(text) => monitor::Feature::Text(text.clone()),
    }
}

fn native_feature(feature: &monitor::Feature) -> Feature {
    match feature {
        monitor::Feature::Number(number) => Feature::Number(*number),
        monitor::Feature::Text(text) => Feature::Text(text.clone()),
    }
}

/// A decision as the host's input; `None` when it gives a name twice.
fn host_decision(decision: &EventDecision) -> Option<DecisionInput> {
    Some(DecisionInput {
        decision_id: decision.decision_id.clone(),
        timestamp: decision.timestamp.map(datetime),
        user_id: decision.user_id.clone(),
        input_song: decision.input_song.clone(),
        recommended_moves: decision.recommended_moves.clone(),
        recommendation_scores: decision.recommendation_scores.clone(),
        algorithm_version: decision.algorithm_version.clone(),
        weights_used: by_name(&decision.weights_used, |weight| *weight)?,
        processing_time_ms: decision.processing_time_ms,
        song_features: by_name(&decision.song_features, Feature::clone)?
            .into_iter()
            .map(|(name, value)| (name, host_feature(&value)))
            .collect(),
        experiment_id: decision.experiment_id.clone(),
        variation: decision.variation.clone(),
    })
}

fn host_decision_json(decision: monitor::Decision) -> Value {
    decision_json(&EventDecision {
        decision_id: Some(decision.decision_id),
        timestamp: Some(back(decision.timestamp)),
        user_id: decision.user_id,
        input_song: decision.input_song,
        recommended_moves: decision.recommended_moves,
        recommendation_scores: decision.recommendation_scores,
        algorithm_version: Some(decision.algorithm_version),
        weights_used: decision.weights_used.into_iter().collect(),
        processing_time_ms: decision.processing_time_ms,
        song_features: decision
            .song_features
            .iter()
            .map(|(name, value)| (name.clone(), native_feature(value)))
            .collect(),
        experiment_id: decision.experiment_id,
        variation: decision.variation,
    })
}

fn host_feedback(feedback: &EventFeedback) -> FeedbackInput {
    FeedbackInput {
        feedback_id: feedback.feedback_id.clone(),
        decision_id: feedback.decision_id.clone(),
        timestamp: feedback.timestamp.map(datetime),
        user_id: feedback.user_id.clone(),
        feedback_type: feedback.feedback_type.clone(),
        feedback_value: feedback.feedback_value,
        move_id: feedback.move_id.clone(),
        comments: feedback.comments.clone(),
    }
}

fn host_feedback_json(feedback: monitor::Feedback) -> Value {
    feedback_json(&EventFeedback {
        feedback_id: Some(feedback.feedback_id),
        decision_id: feedback.decision_id,
        timestamp: Some(back(feedback.timestamp)),
        user_id: feedback.user_id,
        feedback_type: feedback.feedback_type,
        feedback_value: feedback.feedback_value,
        move_id: feedback.move_id,
        comments: feedback.comments,
    })
}

/// A refusal as the host's; `None` for a field the host never names.
fn host_refusal(refusal: &Refusal) -> Option<monitor::Refusal> {
    Some(match refusal {
        Refusal::UnknownDecision(id) => monitor::Refusal::UnknownDecision(id.clone()),
        Refusal::UnknownMove(MoveRef {
            decision_id,
            move_id,
        }) => monitor::Refusal::UnknownMove {
            decision_id: decision_id.clone(),
            move_id: move_id.clone(),
        },
        Refusal::Conflict(RepeatedId { field, id }) => monitor::Refusal::Conflict {
            field: match field.as_str() {
                "decision_id" => "decision_id",
                "feedback_id" => "feedback_id",
                _ => return None,
            },
            id: id.clone(),
        },
    })
}

/// `value` to compare exactly: every number as its `f64` in full (`-0.0` is not `0.0`).
fn exact(value: &Value) -> Value {
    match value {
        Value::Number(number) => Value::from(format!("{:?}", number.as_f64().expect("a number"))),
        Value::Array(list) => Value::Array(list.iter().map(exact).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), exact(item)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn assert_exact(actual: &Value, expected: &Value, at: &str) {
    assert_eq!(
        exact(actual),
        exact(expected),
        "{at}:\n got  {actual}\n want {expected}"
    );
}

fn name(case: &Value) -> &str {
    case["name"].as_str().expect("name")
}

/// A case's events: each the file's base record with the case's fields in their place.
fn events<T>(base: &Value, case: &Value, record: impl Fn(&Value) -> T) -> Vec<T> {
    items(&case["events"])
        .iter()
        .map(|event| record(&merged(base, event)))
        .collect()
}

/// A case's `batch-start`: the index of its first event in a batch, or none.
fn batch_start(case: &Value) -> Option<u32> {
    case["batch-start"]
        .as_u64()
        .map(|start| u32::try_from(start).expect("a u32"))
}

#[test]
fn check_decisions() {
    let file = vectors("events.json");
    let now = instant(&file["now"]);
    let policy = Policy::shared().expect("policy");
    let cases = items(&file["check-decisions"]);
    let mut through_host = 0;
    for case in cases {
        let (name, start, expect) = (name(case), batch_start(case), &case["expect"]);
        let decisions = events(&file["decision"], case, decision);
        let native = result_json(
            native::check_decisions(decisions.clone(), now, start),
            decision_json,
        );
        assert_exact(&native, expect, &format!("{name} (native)"));
        // The host's API checks whole batches (it cuts long ones itself).
        let Some(inputs) = decisions.iter().map(host_decision).collect() else {
            continue;
        };
        if start.is_some_and(|start| start > 0) {
            continue;
        }
        let answer = policy.check_decisions(inputs, datetime(now), start.is_some());
        let host = host_result_json(answer, host_decision_json, "decision-id", expect);
        assert_exact(&host, expect, name);
        through_host += 1;
    }
    assert!(cases.len() >= 30, "the vectors are all there");
    assert!(
        through_host + 1 >= cases.len(),
        "only a name given twice stays native"
    );
}

#[test]
fn check_feedback() {
    let file = vectors("events.json");
    let now = instant(&file["now"]);
    let policy = Policy::shared().expect("policy");
    let cases = items(&file["check-feedback"]);
    assert!(cases.len() >= 15, "the vectors are all there");
    for case in cases {
        let (name, start, expect) = (name(case), batch_start(case), &case["expect"]);
        let sent = events(&file["feedback"], case, feedback);
        let native = result_json(
            native::check_feedback(sent.clone(), now, start),
            feedback_json,
        );
        assert_exact(&native, expect, &format!("{name} (native)"));
        // The host's API checks whole batches (it cuts long ones itself).
        if start.is_some_and(|start| start > 0) {
            continue;
        }
        let inputs = sent.iter().map(host_feedback).collect();
        let answer = policy.check_feedback(inputs, datetime(now), start.is_some());
        let host = host_result_json(answer, host_feedback_json, "feedback-id", expect);
        assert_exact(&host, expect, name);
    }
}

#[test]
fn refused() {
    let file = vectors("events.json");
    let policy = Policy::shared().expect("policy");
    let cases = items(&file["refused"]);
    assert!(cases.len() >= 6, "the vectors are all there");
    for case in cases {
        let (name, expect) = (name(case), &case["expect"]);
        let refused = refusal(&case["refusal"]);
        let index = case["index"].as_u64();
        let native_index = index.map(|index| u32::try_from(index).expect("a u32"));
        let native = native_error_json(&native::refused(refused.clone(), native_index));
        assert_exact(&native, expect, &format!("{name} (native)"));
        let host_refused = host_refusal(&refused).expect("a field the host names");
        let conflict = matches!(host_refused, monitor::Refusal::Conflict { .. });
        let index = index.map(|index| usize::try_from(index).expect("an index"));
        let error = match policy.refused(host_refused, index).expect("call") {
            Error::Conflict(error) if conflict => error,
            Error::App(error) if !conflict => error,
            other => panic!("{name}: {other:?}"),
        };
        assert_exact(&host_error_json(&error), expect, name);
    }
}
