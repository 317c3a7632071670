//! `events`: the monitor's event rules, as the policy decides them.

use chrono::{DateTime, Utc};

use super::super::Policy;
use super::super::bindings::wit::events as wit;
use super::super::convert;
use crate::types::error::{AppError, Error};
use crate::types::monitor::{Decision, DecisionInput, Feedback, FeedbackInput, Refusal};

impl Policy {
    /// Checks decisions as a client sent them, `now` being the time of those that give none;
    /// with `batch`, an error names the event as `[index].field`. What comes back is ready to
    /// store, with a new UUID for an event without an id.
    pub fn check_decisions(
        &self,
        inputs: Vec<DecisionInput>,
        now: DateTime<Utc>,
        batch: bool,
    ) -> Result<Vec<Decision>, Error> {
        const FUNCTION: &str = "events.check-decisions";
        let sent = inputs.len();
        let events: Vec<wit::Decision> = inputs.into_iter().map(Into::into).collect();
        let now = convert::instant(now);
        let checked = self
            .call(FUNCTION, |exports, store| {
                exports
                    .events(&mut *store)?
                    .call_check_decisions(store, &events, now, batch)
            })?
            .map_err(|error| Error::App(error.into()))?;
        self.same_count(FUNCTION, sent, checked.len())?;
        checked
            .into_iter()
            .map(|decision| {
                convert::checked_decision(decision)
                    .map_err(|reason| self.violation(FUNCTION, reason))
            })
            .collect()
    }

    /// Checks feedback as a client sent it (every rule that needs no stored decision); as
    /// [`Policy::check_decisions`].
    pub fn check_feedback(
        &self,
        inputs: Vec<FeedbackInput>,
        now: DateTime<Utc>,
        batch: bool,
    ) -> Result<Vec<Feedback>, Error> {
        const FUNCTION: &str = "events.check-feedback";
        let sent = inputs.len();
        let events: Vec<wit::Feedback> = inputs.into_iter().map(Into::into).collect();
        let now = convert::instant(now);
        let checked = self
            .call(FUNCTION, |exports, store| {
                exports
                    .events(&mut *store)?
                    .call_check_feedback(store, &events, now, batch)
            })?
            .map_err(|error| Error::App(error.into()))?;
        self.same_count(FUNCTION, sent, checked.len())?;
        checked
            .into_iter()
            .map(|event| {
                convert::checked_feedback(event).map_err(|reason| self.violation(FUNCTION, reason))
            })
            .collect()
    }

    /// The error for an event the store refused (`index`: its place in a batch): a
    /// [`Error::Conflict`] for an id stored with other content, else a validation error.
    pub fn refused(&self, refusal: Refusal, index: Option<usize>) -> Result<Error, Error> {
        let conflict = matches!(refusal, Refusal::Conflict { .. });
        let refusal = convert::refusal(refusal);
        let index = index.map(|index| u32::try_from(index).unwrap_or(u32::MAX));
        let error: AppError = self
            .call("events.refused", |exports, store| {
                exports
                    .events(&mut *store)?
                    .call_refused(store, &refusal, index)
            })?
            .into();
        Ok(if conflict {
            Error::Conflict(error)
        } else {
            Error::App(error)
        })
    }

    /// Refuses an answer with another number of events than were sent.
    fn same_count(
        &self,
        function: &'static str,
        sent: usize,
        answered: usize,
    ) -> Result<(), Error> {
        if sent == answered {
            Ok(())
        } else {
            Err(self.violation(
                function,
                format!("answered {answered} event(s) for the {sent} it was given"),
            ))
        }
    }
}
