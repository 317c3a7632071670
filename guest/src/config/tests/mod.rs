//! The configuration's unit tests, by topic, and the helpers they share: loading from
//! pairs, a fake Secret Manager.

#![allow(
    clippy::result_large_err,
    reason = "mirrors the WIT export's signature"
)]

use std::cell::RefCell;
use std::collections::HashMap;

use super::{NoSecrets, REDACTED, SecretStore, dotenv_variables, load};
use crate::catalog;
use crate::types::{
    ConfigError, Device, Environment, ErrorKind, Problem, ResolvedConfig, Setting, Source,
    ValidationContext,
};

mod cloud;
mod loading;
mod ranges;
mod redaction;
mod resources;
mod values;

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn local(items: &[(&str, &str)]) -> Result<ResolvedConfig, ConfigError> {
    load(&pairs(items), None, &NoSecrets)
}

fn problems(items: &[(&str, &str)]) -> Vec<Problem> {
    match local(items) {
        Ok(config) => panic!("expected problems, got {:?}", config.settings),
        Err(error) => {
            assert_eq!(error.error.error_code, catalog::VALIDATION_ERROR);
            error.problems
        }
    }
}

fn setting<'a>(config: &'a ResolvedConfig, name: &str) -> &'a Setting {
    config
        .settings
        .iter()
        .find(|setting| setting.name == name)
        .unwrap_or_else(|| panic!("{name} recorded"))
}

/// A fake Secret Manager that records which secrets were asked for.
#[derive(Default)]
struct FakeStore {
    values: HashMap<&'static str, &'static str>,
    failing: Option<&'static str>,
    asked: RefCell<Vec<String>>,
}

impl SecretStore for FakeStore {
    fn access(&self, project: &str, name: &str) -> Result<Option<String>, String> {
        assert_eq!(project, "my-project");
        self.asked.borrow_mut().push(name.to_string());
        if self.failing == Some(name) {
            return Err("connection refused".to_string());
        }
        Ok(self.values.get(name).map(|value| value.to_string()))
    }
}

fn full_store() -> FakeStore {
    FakeStore {
        values: HashMap::from([
            ("elasticsearch-host", "es.internal"),
            ("elasticsearch-port", "9243"),
            ("elasticsearch-username", "elastic"),
            ("elasticsearch-password", "s3cr3t-pw"),
            ("yolov8-model-name", "yolo11n-pose.onnx"),
        ]),
        ..FakeStore::default()
    }
}
