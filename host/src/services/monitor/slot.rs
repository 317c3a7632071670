//! The monitor of a long-running process: opened on first use, opened again on a later use
//! after a failure (the database was down) at most once per backoff delay (the uses in
//! between are refused at once with when to ask again), shared by every caller, and closed on
//! a blocking thread when the process stops.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::{Monitor, store_error};
use crate::capabilities::store::backoff::{Backoff, whole_seconds};
use crate::types::config::MonitorSettings;
use crate::types::error::{AppError, Error};

/// When to ask again after the database failed in a way that says nothing of how long it
/// lasts.
pub(crate) const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// The detail of a refusal that says when to ask again, in seconds (`Retry-After`).
pub const RETRY_AFTER_DETAIL: &str = "retry_after_seconds";

/// The monitor database refused for now: `message`, and when to ask again.
pub(crate) fn unavailable(message: String, retry_after: Duration) -> Error {
    Error::App(AppError::ServiceUnavailable {
        message,
        service_name: Some("monitor_database".to_string()),
        details: vec![(
            RETRY_AFTER_DETAIL.to_string(),
            whole_seconds(retry_after).to_string(),
        )],
    })
}

/// What the slot holds.
#[derive(Debug, Default)]
struct State {
    opened: Option<Arc<Monitor>>,
    backoff: Backoff,
    closed: bool,
}

/// A monitor opened when first needed.
#[derive(Debug)]
pub struct MonitorSlot {
    settings: MonitorSettings,
    state: Mutex<State>,
}

impl MonitorSlot {
    /// A slot for the monitor `settings` name; nothing is opened yet.
    pub fn new(settings: MonitorSettings) -> Self {
        Self {
            settings,
            state: Mutex::new(State::default()),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &MonitorSettings {
        &self.settings
    }

    /// The monitor, opening it when it is not open yet (blocking: call from a blocking
    /// thread).
    pub fn get(&self) -> Result<Arc<Monitor>, Error> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.closed {
            return Err(unavailable(
                "the monitor is closed: the process is stopping".to_string(),
                RETRY_AFTER_FAILURE,
            ));
        }
        if let Some(monitor) = &state.opened {
            return Ok(Arc::clone(monitor));
        }
        if let Some(refusal) = state.backoff.waiting() {
            return Err(store_error(refusal));
        }
        match Monitor::open(&self.settings) {
            Ok(monitor) => {
                state.backoff.succeeded();
                let monitor = Arc::new(monitor);
                state.opened = Some(Arc::clone(&monitor));
                Ok(monitor)
            }
            Err(error) => {
                let refusal = state.backoff.failed(opening_failure(&error));
                tracing::warn!(%error, "the monitor database could not be opened");
                Err(store_error(refusal))
            }
        }
    }

    /// Closes the monitor (its connections go when the last request using it ends) and opens
    /// no other. Blocking: call from a blocking thread, never from async code (a PostgreSQL
    /// client cannot be dropped there).
    pub fn close(&self) {
        let opened = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.closed = true;
            state.opened.take()
        };
        drop(opened);
    }
}

/// Why opening failed, as the refusals until the next attempt say it.
fn opening_failure(error: &Error) -> String {
    match error {
        Error::App(AppError::ServiceUnavailable { message, .. }) => message
            .strip_prefix("the monitor database is unavailable: ")
            .or_else(|| message.strip_prefix("the monitor database failed: "))
            .unwrap_or(message)
            .to_string(),
        other => other.to_string(),
    }
}
