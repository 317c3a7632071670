//! The bodies of `POST /v1/decisions` and `POST /v1/feedback`: one event or an array of them,
//! read as the daemon reads them (a JSON document, each item deserialized), then checked
//! (`check_all`, which calls `validate`). Nothing panics; an error names its field (`[i].`
//! in a batch) and shows at most a short value; every checked event survives a round trip:
//! written as JSON and read back, it checks to the same event (numbers to within one unit
//! in the last place: see `same`).

#![no_main]

use bachata_common::AppError;
use bachata_common::monitor::{DecisionInput, Event, FeedbackInput, check_all};
use chrono::{DateTime, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap()
}

/// Whether two JSON values are the same, numbers compared to within one unit in the last
/// place: serde_json without its `float_roundtrip` feature (the workspace's) reads some
/// numbers it writes (`6.812461849926623e-221`) back one unit off.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) if x.is_sign_negative() == y.is_sign_negative() => {
                x.to_bits().abs_diff(y.to_bits()) <= 1
            }
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| same(x, y)))
        }
        _ => a == b,
    }
}

fn check<E>(document: &Value)
where
    E: Event + DeserializeOwned,
    E::Checked: Serialize + PartialEq + std::fmt::Debug,
{
    let (items, batch) = match document {
        Value::Array(items) => (items.clone(), true),
        item @ Value::Object(_) => (vec![item.clone()], false),
        _ => return,
    };
    // An item that is not an object is refused before serde reads it (serde would read an
    // event's fields from an array).
    if !items.iter().all(Value::is_object) {
        return;
    }
    let Ok(inputs) = items
        .into_iter()
        .map(serde_json::from_value::<E>)
        .collect::<Result<Vec<E>, _>>()
    else {
        return;
    };
    match check_all(inputs, batch, now()) {
        Ok(events) => {
            for event in events {
                let json = serde_json::to_string(&event).expect("an event writes as JSON");
                let again: E = serde_json::from_str(&json)
                    .unwrap_or_else(|e| panic!("written as {json}, not read back: {e}"));
                let again = again
                    .check(now())
                    .unwrap_or_else(|e| panic!("written as {json}, refused: {e}"));
                let (a, b) = (serde_json::to_value(&again), serde_json::to_value(&event));
                assert!(
                    same(&a.expect("JSON"), &b.expect("JSON")),
                    "written as {json}: {again:?} is not {event:?}"
                );
            }
        }
        Err(AppError::Validation {
            field,
            value,
            message,
            ..
        }) => {
            let field = field.expect("a refusal names its field");
            if batch {
                assert!(field.starts_with('['), "{field}");
                assert!(message.starts_with("event "), "{message}");
            }
            if let Some(value) = value {
                assert!(value.chars().count() <= 121, "{value:?}");
            }
        }
        Err(other) => panic!("not a validation error: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(document) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    check::<DecisionInput>(&document);
    check::<FeedbackInput>(&document);
});
