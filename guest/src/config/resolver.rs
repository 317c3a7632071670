//! The resolver: reads raw values from the environment, `.env` or Secret Manager, parses
//! them, and records every setting (where it came from, masked when secret) and problem.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::str::FromStr;

use super::SecretStore;
use super::original;
use super::secrets::{self, SecretValues};
use super::values::{self, BOOL_EXPECTED};
use crate::dotenv::Dotenv;
use crate::types::{Environment, Problem, Setting, Source};

/// A raw value and where it came from.
pub(super) struct Raw {
    pub(super) value: String,
    pub(super) source: Source,
    pub(super) secret: bool,
}

/// Collects values, settings and problems while resolving.
pub(super) struct Resolver<'a> {
    /// The process environment.
    pub(super) env: HashMap<&'a str, &'a str>,
    dotenv: Dotenv,
    /// Where values other than `ENVIRONMENT` come from after the environment: `.env` in
    /// `local`, Secret Manager in `cloud`.
    pub(super) environment: Environment,
    pub(super) secrets: &'a dyn SecretStore,
    /// Values read from Secret Manager, by variable (in the cloud).
    pub(super) fetched: HashMap<&'static str, String>,
    /// The values a shown value may not reveal.
    pub(super) secret_values: SecretValues,
    /// Every setting resolved so far, in resolution order.
    pub(super) settings: Vec<Setting>,
    /// Every problem found so far.
    pub(super) problems: Vec<Problem>,
}

impl<'a> Resolver<'a> {
    /// A resolver over the process environment `env` and the parsed `.env`, starting in
    /// `local`. It knows up front every secret value they hold: the secret variables of the
    /// environment and every value `.env` gives them (Secret Manager's are added as they
    /// are read).
    pub(super) fn new(
        env: HashMap<&'a str, &'a str>,
        dotenv: Dotenv,
        secrets: &'a dyn SecretStore,
    ) -> Self {
        let mut secret_values = SecretValues::default();
        for name in secrets::SECRET_VARIABLES {
            if let Some(value) = env.get(name) {
                secret_values.add(value);
            }
        }
        for value in &dotenv.sensitive_values {
            secret_values.add(value);
        }
        // A database connection string's password (and the string itself) is a secret
        // wherever else it appears, as soon as resolution starts.
        let databases = [
            env.get("MONITOR_DATABASE").map(|value| value.to_string()),
            dotenv.vars.get("MONITOR_DATABASE").cloned(),
        ];
        for database in databases.into_iter().flatten() {
            let passwords = super::conninfo::passwords(&database);
            if !passwords.is_empty() || super::conninfo::has_password(&database) {
                secret_values.add(&database);
            }
            for password in passwords {
                secret_values.add(&password);
            }
        }
        Resolver {
            env,
            dotenv,
            environment: Environment::Local,
            secrets,
            fetched: HashMap::new(),
            secret_values,
            settings: Vec::new(),
            problems: Vec::new(),
        }
    }
}

impl Resolver<'_> {
    /// The raw value of `name`: environment, then `.env` (local) or Secret Manager (cloud).
    /// It is secret when `name` is a secret variable, when it comes from Secret Manager, when
    /// it holds a secret's value, or when its `.env` definition refers to a secret variable.
    pub(super) fn raw(&self, name: &str) -> Option<Raw> {
        let secret_variable = secrets::is_secret_variable(name);
        if let Some(value) = self.env.get(name) {
            return Some(Raw {
                value: (*value).to_string(),
                source: Source::Environment,
                secret: secret_variable || self.secret_values.revealed_by(value),
            });
        }
        match self.environment {
            Environment::Local => self.dotenv.vars.get(name).map(|value| Raw {
                value: value.clone(),
                source: Source::Dotenv,
                secret: secret_variable
                    || self.dotenv.tainted.contains(name)
                    || self.secret_values.revealed_by(value),
            }),
            Environment::Cloud => self.fetched.get(name).map(|value| Raw {
                value: value.clone(),
                source: Source::SecretManager,
                secret: true,
            }),
        }
    }

    /// Records setting `name` as shown (masked when secret) and where it came from.
    pub(super) fn record(&mut self, name: &str, shown: String, source: Source, secret: bool) {
        self.settings.push(Setting {
            name: name.to_string(),
            value: secrets::shown_setting(shown, secret),
            source,
            secret,
        });
    }

    /// Records a problem with `name`: its value `raw` is invalid (or, when `None`, missing);
    /// `expected` says what it should be.
    pub(super) fn problem(&mut self, name: &str, raw: Option<&Raw>, expected: &str) {
        let value = raw.map(|raw| secrets::shown_value(&raw.value, raw.secret));
        let mut message = match &value {
            Some(value) => format!("{name}={value:?} is invalid: expected {expected}"),
            None => format!("{name} is required: expected {expected}"),
        };
        if let Some(original) = original::sentence(name, value.as_deref()) {
            message = format!("{message} ({original})");
        }
        self.problems.push(Problem {
            variable: name.to_string(),
            value,
            expected: expected.to_string(),
            message,
        });
    }

    /// Whether a problem was recorded for `name`.
    pub(super) fn rejected(&self, name: &str) -> bool {
        self.problems.iter().any(|p| p.variable == name)
    }

    /// A typed value: parsed when present (a problem when it does not parse), else the default.
    pub(super) fn typed<T: ToString>(
        &mut self,
        name: &str,
        default: T,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> T {
        match self.raw(name) {
            None => {
                self.record(name, default.to_string(), Source::Default, false);
                default
            }
            Some(raw) => match parse(raw.value.trim()) {
                Some(value) => {
                    self.record(name, value.to_string(), raw.source, raw.secret);
                    value
                }
                None => {
                    self.problem(name, Some(&raw), expected);
                    self.record(name, raw.value.clone(), raw.source, raw.secret);
                    default
                }
            },
        }
    }

    /// A required non-empty string with a default.
    pub(super) fn text(&mut self, name: &str, default: &str) -> String {
        self.typed(name, default.to_string(), "a non-empty value", |value| {
            (!value.is_empty()).then(|| value.to_string())
        })
    }

    /// An optional string: unset or empty means none.
    pub(super) fn optional(&mut self, name: &str) -> Option<String> {
        match self.raw(name) {
            Some(raw) if !raw.value.is_empty() => {
                self.record(name, raw.value.clone(), raw.source, raw.secret);
                Some(raw.value)
            }
            Some(raw) => {
                self.record(name, String::new(), raw.source, raw.secret);
                None
            }
            None => {
                self.record(
                    name,
                    String::new(),
                    Source::Default,
                    secrets::is_secret_variable(name),
                );
                None
            }
        }
    }

    /// A boolean (see [`values::parse_bool`]).
    pub(super) fn boolean(&mut self, name: &str, default: bool) -> bool {
        self.typed(name, default, BOOL_EXPECTED, values::parse_bool)
    }

    /// A number in [0, 1].
    pub(super) fn fraction(&mut self, name: &str, default: f64) -> f64 {
        self.typed(
            name,
            default,
            "a number between 0 and 1",
            values::parse_fraction,
        )
    }

    /// A ratio in (0, 1].
    pub(super) fn ratio(&mut self, name: &str, default: f64) -> f64 {
        self.typed(
            name,
            default,
            "a number above 0 and at most 1",
            values::parse_ratio,
        )
    }

    /// A finite number from `min` to `max` (above `min` when `min_inclusive` is false).
    pub(super) fn number(
        &mut self,
        name: &str,
        default: f64,
        (min, min_inclusive): (f64, bool),
        max: f64,
        expected: &str,
    ) -> f64 {
        self.typed(name, default, expected, |value| {
            values::parse_number(value, (min, min_inclusive), max)
        })
    }

    /// A whole number within `range`.
    pub(super) fn whole<T>(
        &mut self,
        name: &str,
        default: T,
        range: RangeInclusive<T>,
        expected: &str,
    ) -> T
    where
        T: FromStr + PartialOrd + ToString,
    {
        self.typed(name, default, expected, |value| {
            values::parse_whole(value, &range)
        })
    }

    /// Where a recorded setting came from.
    pub(super) fn source_of(&self, name: &str) -> Option<Source> {
        self.settings
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.source)
    }

    /// Overrides a recorded setting's value and marks it derived.
    pub(super) fn derive(&mut self, name: &str, value: String) {
        if let Some(setting) = self.settings.iter_mut().find(|s| s.name == name) {
            setting.value = value;
            setting.source = Source::Derived;
        }
    }
}
