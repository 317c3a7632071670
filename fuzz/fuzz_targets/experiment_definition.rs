//! Experiment definitions (`experiments::Definition::from_json`, the body of
//! `POST /v1/experiments`): any text parses or fails without a panic, naming a field; what
//! parses is one JSON object and nothing after it; a definition written back as JSON reads
//! back to the same definition (numbers to within one unit in the last place: see `same`).

#![no_main]

use bachata_common::AppError;
use bachata_common::experiments::Definition;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

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

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Definition::from_json(text) {
        Ok(definition) => {
            // Exactly one JSON object, as serde_json reads a whole document.
            assert!(text.trim_start().starts_with('{'), "{text:?}");
            if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
                panic!("read as a definition, but not one JSON document: {e}: {text:?}");
            }
            let json = serde_json::to_string(&definition).expect("a definition writes as JSON");
            let again = Definition::from_json(&json)
                .unwrap_or_else(|e| panic!("written as {json}, not read back: {e}"));
            let (a, b) = (
                serde_json::to_value(&again),
                serde_json::to_value(&definition),
            );
            assert!(
                same(&a.expect("JSON"), &b.expect("JSON")),
                "written as {json}: {again:?} is not {definition:?}"
            );
        }
        Err(AppError::Validation { field, .. }) => {
            // The field at fault (an unknown key `""` is named as it is, empty).
            assert!(field.is_some());
        }
        Err(other) => panic!("not a validation error: {other:?}"),
    }
});
