//! Logging events: each checked by the policy's event rules (`events`), then stored once (a
//! retry with the same id stores nothing and says so), a batch in one transaction: all of it,
//! or none. What the store refuses (an unknown decision or move, an id stored with other
//! content) the policy words too.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use super::{MAX_BATCH, Monitor, store_error};
use crate::capabilities::store::StoreError;
use crate::capabilities::store::events;
use crate::capabilities::store::sql::Tx;
use crate::runtime::Policy;
use crate::types::error::{AppError, Error};
use crate::types::monitor::{Decision, DecisionInput, Feedback, FeedbackInput, Logged, invalid};

/// A kind of event a client sends: checked by the policy into what the store writes.
pub trait Event: DeserializeOwned {
    /// The event once checked.
    type Checked: Stored;
    /// Checks `events` by the policy's rules, `now` being the time of those that give none;
    /// with `batch`, an error names the event as `[index].field`.
    fn check(
        policy: &Policy,
        events: Vec<Self>,
        now: DateTime<Utc>,
        batch: bool,
    ) -> Result<Vec<Self::Checked>, Error>;
}

impl Event for DecisionInput {
    type Checked = Decision;
    fn check(
        policy: &Policy,
        events: Vec<Self>,
        now: DateTime<Utc>,
        batch: bool,
    ) -> Result<Vec<Decision>, Error> {
        policy.check_decisions(events, now, batch)
    }
}

impl Event for FeedbackInput {
    type Checked = Feedback;
    fn check(
        policy: &Policy,
        events: Vec<Self>,
        now: DateTime<Utc>,
        batch: bool,
    ) -> Result<Vec<Feedback>, Error> {
        policy.check_feedback(events, now, batch)
    }
}

/// A kind of checked event the store writes.
pub trait Stored: Sized + serde::Serialize + DeserializeOwned {
    /// Writes events in the current transaction; with `batch`, a refusal names the event's
    /// index.
    fn insert(tx: &mut dyn Tx, events: &[Self], batch: bool) -> Result<Vec<Logged>, StoreError>;
    /// The event's id.
    fn id(&self) -> &str;
}

impl Stored for Decision {
    fn id(&self) -> &str {
        &self.decision_id
    }
    fn insert(tx: &mut dyn Tx, events: &[Self], _batch: bool) -> Result<Vec<Logged>, StoreError> {
        events::insert_decisions(tx, events)
    }
}

impl Stored for Feedback {
    fn id(&self) -> &str {
        &self.feedback_id
    }
    fn insert(tx: &mut dyn Tx, events: &[Self], batch: bool) -> Result<Vec<Logged>, StoreError> {
        events::insert_feedback(tx, events, batch)
    }
}

/// A refusal of the store worded by the policy: a validation error, or a conflict.
pub(super) fn worded(policy: &Policy, error: StoreError) -> StoreError {
    match error {
        StoreError::Refused { refusal, index } => match policy.refused(refusal, index) {
            Ok(Error::App(error)) => StoreError::Invalid(error),
            Ok(Error::Conflict(error)) => StoreError::Conflict(error),
            Ok(other) | Err(other) => StoreError::Aborted(Box::new(other)),
        },
        other => other,
    }
}

impl Monitor {
    /// Stores one event (once: a retry with the same id stores nothing and says so).
    pub fn log<E: Event>(&self, policy: &Policy, input: E) -> Result<Logged, Error> {
        let checked = E::check(policy, vec![input], Utc::now(), false)?;
        let logged = self.store(policy, &checked, false)?;
        logged.into_iter().next().ok_or_else(unreachable_empty)
    }

    /// Stores a batch of events in one transaction: all or, when one breaks a rule, none (the
    /// error names it as `[index].field`).
    pub fn log_batch<E: Event>(
        &self,
        policy: &Policy,
        inputs: Vec<E>,
    ) -> Result<Vec<Logged>, Error> {
        check_batch(inputs.len())?;
        let checked = E::check(policy, inputs, Utc::now(), true)?;
        self.store(policy, &checked, true)
    }

    /// Stores events that already met the policy's rules; `batch` says whether an error names
    /// the event's index.
    pub fn store<S: Stored>(
        &self,
        policy: &Policy,
        events: &[S],
        batch: bool,
    ) -> Result<Vec<Logged>, Error> {
        let written = {
            let mut store = self
                .writer
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            store.write(|tx| S::insert(tx, events, batch))
        };
        // A refusal is worded once the transaction is over and the writer free again.
        written.map_err(|error| store_error(worded(policy, error)))
    }

    /// Stores a decision.
    pub fn log_decision(&self, policy: &Policy, input: DecisionInput) -> Result<Logged, Error> {
        self.log(policy, input)
    }

    /// Stores a batch of decisions.
    pub fn log_decisions(
        &self,
        policy: &Policy,
        inputs: Vec<DecisionInput>,
    ) -> Result<Vec<Logged>, Error> {
        self.log_batch(policy, inputs)
    }

    /// Stores feedback on a stored decision (once per id).
    pub fn log_feedback(&self, policy: &Policy, input: FeedbackInput) -> Result<Logged, Error> {
        self.log(policy, input)
    }

    /// Stores a batch of feedback.
    pub fn log_feedbacks(
        &self,
        policy: &Policy,
        inputs: Vec<FeedbackInput>,
    ) -> Result<Vec<Logged>, Error> {
        self.log_batch(policy, inputs)
    }
}

fn check_batch(len: usize) -> Result<(), Error> {
    if len == 0 {
        return Err(invalid("events", Some("0".into()), "the batch is empty").into());
    }
    if len > MAX_BATCH {
        return Err(invalid(
            "events",
            Some(len.to_string()),
            format!("a batch holds at most {MAX_BATCH} events, not {len}"),
        )
        .into());
    }
    Ok(())
}

fn unreachable_empty() -> Error {
    Error::App(AppError::Generation {
        message: "the store answered nothing for one event".to_string(),
        details: Vec::new(),
    })
}
