//! The experiments' shared vectors through the Rust host: GrowthBook's own cross-SDK cases
//! (`growthbook.json`) and gbstats' and GrowthBook's statistics cases (`experiments.json`).

use std::collections::BTreeMap;

use bachata_common::Policy;
use bachata_common::experiments::{Arm, Correction, Definition, Namespace};
use chrono::{TimeZone, Utc};
use serde_json::Value;

use crate::vectors::{as_wit, items, vectors};

/// GrowthBook's test rounding for ranges and weights: truncated to 8 decimals.
fn truncated(x: f64) -> f64 {
    (x * 1e8).floor() / 1e8
}

fn numbers(value: &Value) -> Vec<f64> {
    items(value)
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

fn ranges(value: &Value) -> Vec<(f64, f64)> {
    items(value)
        .iter()
        .map(|range| {
            let pair = numbers(range);
            (pair[0], pair[1])
        })
        .collect()
}

#[test]
fn growthbook_sdk_vectors() {
    let cases = vectors("growthbook.json");
    let policy = Policy::shared().expect("policy");
    for section in [
        "hash",
        "getBucketRange",
        "chooseVariation",
        "inNamespace",
        "getEqualWeights",
    ] {
        assert!(!items(&cases[section]).is_empty(), "{section} has cases");
    }
    for row in items(&cases["hash"]) {
        let (seed, value) = (
            row[0].as_str().expect("seed"),
            row[1].as_str().expect("value"),
        );
        let version = u32::try_from(row[2].as_u64().expect("version")).expect("u32");
        let got = policy.experiment_hash(seed, value, version).expect("call");
        assert_eq!(got, row[3].as_f64(), "hash({seed:?}, {value:?}, {version})");
    }
    for row in items(&cases["getBucketRange"]) {
        let name = row[0].as_str().expect("name");
        let inputs = &row[1];
        let count = i32::try_from(inputs[0].as_i64().expect("count")).expect("i32");
        let coverage = inputs[1].as_f64().expect("coverage");
        let weights = inputs[2].as_array().map(|_| numbers(&inputs[2]));
        let got = policy
            .bucket_ranges(count, coverage, weights.as_deref())
            .expect("call");
        let expected = ranges(&row[2]);
        assert_eq!(got.len(), expected.len(), "{name}");
        for ((start, end), (want_start, want_end)) in got.iter().zip(&expected) {
            assert_eq!(truncated(*start), truncated(*want_start), "{name}");
            assert_eq!(truncated(*end), truncated(*want_end), "{name}");
        }
    }
    for row in items(&cases["chooseVariation"]) {
        let name = row[0].as_str().expect("name");
        let n = row[1].as_f64().expect("n");
        let got = policy.choose_variation(n, &ranges(&row[2])).expect("call");
        assert_eq!(i64::from(got), row[3].as_i64().expect("index"), "{name}");
    }
    for row in items(&cases["inNamespace"]) {
        let name = row[0].as_str().expect("name");
        let unit = row[1].as_str().expect("unit");
        let namespace = Namespace {
            id: row[2][0].as_str().expect("id").to_string(),
            start: row[2][1].as_f64().expect("start"),
            end: row[2][2].as_f64().expect("end"),
        };
        let got = policy.in_namespace(unit, &namespace).expect("call");
        assert_eq!(got, row[3].as_bool().expect("bool"), "{name}");
    }
    for row in items(&cases["getEqualWeights"]) {
        let count = i32::try_from(row[0].as_i64().expect("count")).expect("i32");
        let got: Vec<f64> = policy
            .equal_weights(count)
            .expect("call")
            .into_iter()
            .map(truncated)
            .collect();
        let expected: Vec<f64> = numbers(&row[1]).into_iter().map(truncated).collect();
        assert_eq!(got, expected, "getEqualWeights({count})");
    }
}

/// The vectors' definition (WIT field names) as the host's.
fn definition(value: &Value, metrics: &Value) -> Definition {
    let text = |key: &str| value[key].as_str().expect("text").to_string();
    let time = |key: &str| {
        Utc.timestamp_millis_opt(value[key].as_i64().expect("ms"))
            .single()
            .expect("a time")
    };
    Definition {
        test_id: text("test-id"),
        test_name: text("test-name"),
        start_date: time("start-ms"),
        end_date: time("end-ms"),
        algorithm_versions: items(&value["algorithm-versions"])
            .iter()
            .map(|v| v.as_str().expect("version").to_string())
            .collect(),
        traffic_split: items(&value["traffic-split"])
            .iter()
            .map(|pair| {
                (
                    pair[0].as_str().expect("version").to_string(),
                    pair[1].as_f64().expect("weight"),
                )
            })
            .collect::<BTreeMap<_, _>>(),
        coverage: value["coverage"].as_f64().expect("coverage"),
        seed: Some(text("seed")),
        hash_version: u32::try_from(value["hash-version"].as_u64().expect("u32")).expect("u32"),
        success_metrics: items(metrics)
            .iter()
            .map(|m| m.as_str().expect("metric").to_string())
            .collect(),
        minimum_sample_size: value["minimum-sample-size"].as_u64().expect("u64"),
        namespace: None,
        sequential: value["sequential"].as_bool().expect("bool"),
        correction: Correction::None,
    }
}

/// A vector's value with kebab-case keys made snake_case, for the host's serde types.
fn snake(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.replace('-', "_"), snake(item)))
                .collect(),
        ),
        Value::Array(list) => Value::Array(list.iter().map(snake).collect()),
        other => other.clone(),
    }
}

/// `actual` within half a unit of the `decimals`-th place of `expected` (nulls exactly).
fn assert_near(actual: &Value, expected: &Value, decimals: i32, at: &str) {
    match (actual.as_f64(), expected.as_f64()) {
        (Some(a), Some(e)) => {
            let tolerance = 0.5 * 10f64.powi(-decimals) + 1e-12;
            assert!((a - e).abs() <= tolerance, "{at}: {a} is not {e}");
        }
        _ => assert_eq!(actual, expected, "{at}"),
    }
}

#[test]
fn experiment_statistics_vectors() {
    let cases = vectors("experiments.json");
    let policy = Policy::shared().expect("policy");
    for section in ["analyze", "sample-ratio-p", "adjust"] {
        assert!(!items(&cases[section]).is_empty(), "{section} has cases");
    }
    for case in items(&cases["analyze"]) {
        let name = case["name"].as_str().expect("name");
        let decimals = i32::try_from(case["decimals"].as_i64().expect("decimals")).expect("i32");
        let d = definition(&cases["definition"], &case["success-metrics"]);
        let arms: Vec<Arm> = serde_json::from_value(snake(&case["arms"])).expect("arms");
        let analysis = policy.analyze(&d, &arms, 0, Correction::None).expect(name);
        let got = as_wit(&analysis.comparisons[0]);
        for (field, wanted) in case["expect"].as_object().expect("expect") {
            match wanted {
                Value::Object(parts) => {
                    for (key, want) in parts {
                        assert_near(
                            &got[field][key],
                            want,
                            decimals,
                            &format!("{name}: {field}.{key}"),
                        );
                    }
                }
                other => assert_near(&got[field], other, decimals, &format!("{name}: {field}")),
            }
        }
    }
    for case in items(&cases["sample-ratio-p"]) {
        let name = case["name"].as_str().expect("name");
        let units: Vec<u64> = items(&case["units"])
            .iter()
            .map(|u| u.as_u64().expect("units"))
            .collect();
        let got = policy
            .sample_ratio_p(&units, &numbers(&case["weights"]))
            .expect("call");
        let decimals = i32::try_from(case["decimals"].as_i64().expect("decimals")).expect("i32");
        assert_near(
            &got.map_or(Value::Null, Value::from),
            &case["expect"],
            decimals,
            name,
        );
    }
    for case in items(&cases["adjust"]) {
        let name = case["name"].as_str().expect("name");
        let correction: Correction = case["correction"]
            .as_str()
            .expect("a correction")
            .parse()
            .expect("a correction");
        let got = policy
            .adjust(&numbers(&case["p-values"]), correction)
            .expect("call");
        let decimals = i32::try_from(case["decimals"].as_i64().expect("decimals")).expect("i32");
        let expected = numbers(&case["expect"]);
        assert_eq!(got.len(), expected.len(), "{name}");
        for (a, e) in got.iter().zip(&expected) {
            assert_near(&Value::from(*a), &Value::from(*e), decimals, name);
        }
    }
}
