//! Secrets: the store that reads them, which variables are secret, the Secret Manager
//! lookups of the cloud, and the masking of every value that could reveal one.

use std::collections::HashMap;

use crate::catalog;
use crate::types::{AppError, ErrorKind};

/// Reads secrets on the policy's behalf (the host's `host-secrets` capability).
pub trait SecretStore {
    /// The latest version of secret `name` in `project`: `Ok(None)` when it does not exist,
    /// `Err(reason)` when it could not be read.
    fn access(&self, project: &str, name: &str) -> Result<Option<String>, String>;
}

/// A store that has no secrets at all, for hosts without the capability.
pub struct NoSecrets;

impl SecretStore for NoSecrets {
    fn access(&self, _project: &str, _name: &str) -> Result<Option<String>, String> {
        Err("this host provides no secret store".to_string())
    }
}

/// Shown instead of a secret value.
pub const REDACTED: &str = "***";

/// The secret read in the cloud for each variable that has one, in resolution order.
const SECRET_NAMES: &[(&str, &str)] = &[
    ("ELASTICSEARCH_HOST", "elasticsearch-host"),
    ("ELASTICSEARCH_PORT", "elasticsearch-port"),
    ("ELASTICSEARCH_USERNAME", "elasticsearch-username"),
    ("ELASTICSEARCH_PASSWORD", "elasticsearch-password"),
    ("YOLOV8_MODEL", "yolov8-model-name"),
];

/// Variables whose values are always secret.
pub(super) const SECRET_VARIABLES: &[&str] = &[
    "ELASTICSEARCH_PASSWORD",
    "ELASTICSEARCH_API_KEY",
    "BACHATA_API_TOKEN",
];

/// Whether `name` is a variable whose value is always secret.
pub(super) fn is_secret_variable(name: &str) -> bool {
    SECRET_VARIABLES.contains(&name)
}

/// The non-empty values of the secret variables and of everything read from Secret
/// Manager (also trimmed): a value holding one of them is shown as [`REDACTED`].
#[derive(Default)]
pub(super) struct SecretValues(Vec<String>);

impl SecretValues {
    /// Remembers `value` as a secret that no shown value may reveal.
    pub(super) fn add(&mut self, value: &str) {
        for value in [value, value.trim()] {
            if !value.is_empty() && !self.0.iter().any(|known| known == value) {
                self.0.push(value.to_string());
            }
        }
    }

    /// Whether `value` holds the value of a secret.
    pub(super) fn revealed_by(&self, value: &str) -> bool {
        self.0.iter().any(|secret| value.contains(secret.as_str()))
    }
}

/// Reads from `store` every secret the cloud needs in `project` (those of the variables
/// missing from the process environment `env`), in resolution order, remembering each
/// value in `known`; the first that cannot be read is the error.
pub(super) fn fetch(
    store: &dyn SecretStore,
    project: &str,
    env: &HashMap<&str, &str>,
    known: &mut SecretValues,
) -> Result<HashMap<&'static str, String>, AppError> {
    let mut fetched = HashMap::new();
    for (variable, secret_name) in SECRET_NAMES {
        if env.contains_key(variable) {
            continue;
        }
        match store.access(project, secret_name) {
            Ok(Some(value)) => {
                known.add(&value);
                fetched.insert(*variable, value);
            }
            Ok(None) => {
                return Err(secret_error(
                    project,
                    secret_name,
                    "the secret or its latest version does not exist",
                ));
            }
            Err(reason) => return Err(secret_error(project, secret_name, &reason)),
        }
    }
    Ok(fetched)
}

/// The error for secret `secret` of `project` that could not be read, and why.
fn secret_error(project: &str, secret: &str, reason: &str) -> AppError {
    catalog::make_error(
        ErrorKind::ServiceUnavailable(Some("secret_manager".to_string())),
        format!(
            "could not read secret `{secret}` from Secret Manager in project `{project}`: {reason}"
        ),
        vec![
            ("secret".to_string(), secret.to_string()),
            ("project".to_string(), project.to_string()),
        ],
    )
}

/// How a problem shows a raw value: [`REDACTED`] when it is secret.
pub(super) fn shown_value(value: &str, secret: bool) -> String {
    if secret {
        REDACTED.to_string()
    } else {
        value.to_string()
    }
}

/// How a setting shows its value: [`REDACTED`] when it is secret, unless it is empty.
pub(super) fn shown_setting(value: String, secret: bool) -> String {
    if secret && !value.is_empty() {
        REDACTED.to_string()
    } else {
        value
    }
}
