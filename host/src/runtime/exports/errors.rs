//! `errors`: the catalog, user messages, HTTP statuses and problem documents, as the policy
//! decides them.

use super::super::Policy;
use super::super::bindings::wit;
use super::super::convert;
use crate::types::catalog::{BuiltError, CatalogEntry};
use crate::types::error::{AppError, Error};

impl Policy {
    /// The end-user message for an error code and type.
    pub fn user_friendly_message(
        &self,
        error_code: &str,
        error_type: &str,
    ) -> Result<String, Error> {
        self.call("errors.user-friendly-message", |exports, store| {
            exports
                .errors(&mut *store)?
                .call_user_friendly_message(store, error_code, error_type)
        })
    }

    /// Builds an error through the policy's `errors.make-error`, from `error`'s kind (with its
    /// context), message and details.
    pub fn make_error(&self, error: &AppError) -> Result<BuiltError, Error> {
        let kind = wit::AppError::from(error).kind;
        let built = self.call("errors.make-error", |exports, store| {
            exports.errors(&mut *store)?.call_make_error(
                store,
                &kind,
                error.message(),
                error.details(),
            )
        })?;
        Ok(convert::built_error(built))
    }

    /// Every catalog entry.
    pub fn catalog(&self) -> Result<Vec<CatalogEntry>, Error> {
        let entries = self.call("errors.catalog", |exports, store| {
            exports.errors(&mut *store)?.call_catalog(store)
        })?;
        Ok(entries.into_iter().map(CatalogEntry::from).collect())
    }

    /// The HTTP status for an error code, as the policy decides it.
    pub fn http_status(&self, error_code: &str) -> Result<u16, Error> {
        self.call("errors.http-status", |exports, store| {
            exports
                .errors(&mut *store)?
                .call_http_status(store, error_code)
        })
    }

    /// Renders `error` as an RFC 9457 `application/problem+json` document.
    pub fn problem_json(
        &self,
        error: &AppError,
        error_type: Option<&str>,
        instance_uri: Option<&str>,
    ) -> Result<String, Error> {
        let wit_error = wit::AppError::from(error);
        self.call("errors.problem-json", |exports, store| {
            exports.errors(&mut *store)?.call_problem_json(
                store,
                &wit_error,
                error_type,
                instance_uri,
            )
        })
    }
}

impl AppError {
    /// The HTTP status of this error in the embedded policy's catalog (500 when it cannot be
    /// asked). Code that loaded another policy asks that one: [`Policy::http_status`].
    pub fn http_status(&self) -> u16 {
        Policy::shared()
            .and_then(|policy| policy.http_status(self.error_code()))
            .unwrap_or(500)
    }

    /// The end-user message for `error_type` from the embedded policy's catalog.
    pub fn user_message(&self, error_type: &str) -> Result<String, Error> {
        self.user_message_with(Policy::shared()?, error_type)
    }

    /// The end-user message for `error_type` from `policy`'s catalog.
    pub fn user_message_with(&self, policy: &Policy, error_type: &str) -> Result<String, Error> {
        policy.user_friendly_message(self.error_code(), error_type)
    }
}
