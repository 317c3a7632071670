//! The little SQL both engines share: values, rows and a transaction to run statements in.
//! Statements use `$1`, `$2`, … and must use them in that order, first use by first use:
//! PostgreSQL numbers them by their digits, SQLite by the order they first appear.

use std::borrow::Cow;

use crate::types::error::AppError;

/// A parameter value; text is borrowed from the event when it can be.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// SQL NULL.
    Null,
    /// A BIGINT.
    Int(i64),
    /// A DOUBLE PRECISION.
    Real(f64),
    /// A TEXT.
    Text(Cow<'a, str>),
}

impl From<i64> for Value<'_> {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<f64> for Value<'_> {
    fn from(value: f64) -> Self {
        Self::Real(value)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(value: &'a str) -> Self {
        Self::Text(Cow::Borrowed(value))
    }
}

impl From<String> for Value<'_> {
    fn from(value: String) -> Self {
        Self::Text(Cow::Owned(value))
    }
}

impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Null, Into::into)
    }
}

/// Whether every `$N` of `sql` first appears in the order 1, 2, 3, … (the rule above).
pub fn parameters_in_order(sql: &str) -> bool {
    let mut next = 1u32;
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let digits: String = sql[i + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse::<u32>() {
                if n > next {
                    return false;
                }
                if n == next {
                    next += 1;
                }
            }
            i += digits.len();
        }
        i += 1;
    }
    true
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The events broke a rule only the stored data can check (an unknown decision, a move
    /// the decision did not recommend): nothing was written.
    #[error(transparent)]
    Invalid(#[from] AppError),
    /// An event repeats an id already stored with other content: nothing was written.
    #[error("{0}")]
    Conflict(AppError),
    /// An event met the policy's rules but the stored events refuse it (an unknown decision
    /// or move, an id stored with other content): nothing was written. The policy words the
    /// error (`index`: the event's place in a batch).
    #[error("the store refused event {index:?}: {refusal:?}")]
    Refused {
        /// Why.
        refusal: crate::types::monitor::Refusal,
        /// The event's place in its batch, when in one.
        index: Option<usize>,
    },
    /// What the request names (an experiment) is not stored.
    #[error("{0}")]
    NotFound(AppError),
    /// The database failed.
    #[error("{0}")]
    Database(String),
    /// The database cannot be reached now (the server is down, or its files are being
    /// repaired): nothing was done; ask again after `retry_after`.
    #[error("{reason}")]
    Unavailable {
        /// Why, without the connection string's password.
        reason: String,
        /// When asking again may succeed.
        retry_after: std::time::Duration,
    },
    /// Work done inside a transaction failed (the policy computing from what was read): the
    /// transaction is abandoned and the failure passed on as it is.
    #[error(transparent)]
    Aborted(Box<crate::types::error::Error>),
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Database(error.to_string())
    }
}

impl From<postgres::Error> for StoreError {
    fn from(error: postgres::Error) -> Self {
        // The server's own message and code when there is one ("connection refused" and such
        // otherwise).
        match error.as_db_error() {
            Some(db) => Self::from_sqlstate(db.code().code(), db.message()),
            None => Self::Database(error.to_string()),
        }
    }
}

impl StoreError {
    /// A PostgreSQL error by its SQLSTATE: a data exception (class `22`: text the server's
    /// encoding cannot hold, such as NUL, a number out of range, …) is the caller's value,
    /// refused as invalid; anything else is the database failing.
    pub fn from_sqlstate(code: &str, message: &str) -> Self {
        if code.starts_with("22") {
            Self::Invalid(AppError::Validation {
                message: format!("the database cannot store a value of the request: {message}"),
                field: None,
                value: None,
                details: vec![("sqlstate".to_string(), code.to_string())],
            })
        } else {
            Self::Database(format!("{message} ({code})"))
        }
    }
}

/// One result row.
pub trait Row {
    /// Column `i` as a BIGINT.
    fn int(&self, i: usize) -> Result<i64, StoreError>;
    /// Column `i` as a DOUBLE PRECISION (NULL is an error).
    fn real(&self, i: usize) -> Result<f64, StoreError>;
    /// Column `i` as a nullable DOUBLE PRECISION.
    fn opt_real(&self, i: usize) -> Result<Option<f64>, StoreError>;
    /// Column `i` as TEXT.
    fn text(&self, i: usize) -> Result<String, StoreError>;
    /// Column `i` as nullable TEXT.
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
}

/// A transaction of either engine.
pub trait Tx {
    /// Whether the engine is PostgreSQL (for its few statements of its own: row locks).
    fn is_postgres(&self) -> bool;
    /// Runs a statement; the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value<'_>]) -> Result<u64, StoreError>;
    /// Runs a query and hands each row to `each`, streaming.
    fn query(
        &mut self,
        sql: &str,
        params: &[Value<'_>],
        each: &mut dyn FnMut(&dyn Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Runs statements separated by `;` (migrations), without parameters.
    fn batch(&mut self, sql: &str) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::parameters_in_order;

    #[test]
    fn data_exceptions_are_the_callers_values() {
        use super::StoreError;
        for code in ["22021", "22P05", "22003"] {
            let error = StoreError::from_sqlstate(code, "invalid byte sequence");
            assert!(matches!(error, StoreError::Invalid(_)), "{code}: {error:?}");
        }
        for code in ["23505", "40P01", "57P01", "08006"] {
            let error = StoreError::from_sqlstate(code, "failed");
            assert!(
                matches!(error, StoreError::Database(_)),
                "{code}: {error:?}"
            );
            assert!(error.to_string().ends_with(&format!("({code})")));
        }
    }

    #[test]
    fn parameters_must_first_appear_in_order() {
        assert!(parameters_in_order("SELECT $1, $2, $1, $3"));
        assert!(parameters_in_order("DELETE FROM t WHERE a < $1 OR b < $1"));
        assert!(!parameters_in_order("UPDATE t SET a = $3 WHERE b = $1"));
        assert!(parameters_in_order("SELECT 1"));
    }
}
