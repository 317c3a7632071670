//! `config`: resolving configuration from environment pairs and `.env` text.

use super::super::Policy;
use crate::types::config::Config;
use crate::types::error::{ConfigFailure, Error};

impl Policy {
    /// Resolves configuration from environment pairs and optional `.env` text.
    pub fn load_config(
        &self,
        env: &[(String, String)],
        dotenv: Option<&str>,
    ) -> Result<Result<Config, ConfigFailure>, Error> {
        let outcome = self.call("config.load", |exports, store| {
            exports.config(&mut *store)?.call_load(store, env, dotenv)
        })?;
        Ok(outcome.map(Config::from).map_err(ConfigFailure::from))
    }
}
