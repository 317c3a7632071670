//! The error catalog as the policy gives it: its entries, and an error it built.

use super::error::{AppError, Details};

/// An error as the policy's catalog built it (`errors.make-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltError {
    /// The stable machine code the policy gave.
    pub error_code: String,
    /// The message.
    pub message: String,
    /// The details in the policy's order (the kind's context first).
    pub details: Details,
    /// The same error as the host's type.
    pub error: AppError,
}

/// One entry of the error catalog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CatalogEntry {
    /// The machine code.
    pub error_code: String,
    /// The situation within the code (`default` for the general message).
    pub error_type: String,
    /// The end-user message.
    pub message: String,
    /// The HTTP status for the code.
    pub http_status: u16,
}
