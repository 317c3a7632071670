//! `events`: the monitor's event rules, as the policy decides them.
//!
//! A long batch is checked in several calls of at most [`CALL_BYTES`] of estimated data each
//! (the policy's memory cap holds the arguments, its copies and the answer), each naming its
//! events by their index in the whole batch (`batch-start`). What the policy answers must be
//! storable (`convert::checked_decision`): a policy answering otherwise broke the host's rules.

use chrono::{DateTime, Utc};

use wasmtime::Store;

use super::super::Policy;
use super::super::bindings::wit::AppError as WitAppError;
use super::super::bindings::wit::events as wit;
use super::super::convert;
use super::super::part::Exports;
use super::super::state::HostState;
use crate::types::error::{AppError, Error};
use crate::types::monitor::{Decision, DecisionInput, Feedback, FeedbackInput, Refusal};

/// The most data, estimated, one call of `check-*` is given.
pub const CALL_BYTES: usize = 4 << 20;

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
        let events: Vec<wit::Decision> = inputs.into_iter().map(Into::into).collect();
        self.check_events(
            "events.check-decisions",
            &events,
            (now, batch),
            convert::decision_bytes,
            |exports, store, part, now, start| {
                exports
                    .events(&mut *store)?
                    .call_check_decisions(store, part, now, start)
            },
            convert::checked_decision,
        )
    }

    /// Checks feedback as a client sent it (every rule that needs no stored decision); as
    /// [`Policy::check_decisions`].
    pub fn check_feedback(
        &self,
        inputs: Vec<FeedbackInput>,
        now: DateTime<Utc>,
        batch: bool,
    ) -> Result<Vec<Feedback>, Error> {
        let events: Vec<wit::Feedback> = inputs.into_iter().map(Into::into).collect();
        self.check_events(
            "events.check-feedback",
            &events,
            (now, batch),
            convert::feedback_bytes,
            |exports, store, part, now, start| {
                exports
                    .events(&mut *store)?
                    .call_check_feedback(store, part, now, start)
            },
            convert::checked_feedback,
        )
    }

    /// One `check-*` call per part of the batch (see [`parts`]); every answer the same length
    /// as its part, a failure a validation error, every event storable (`stored`).
    fn check_events<W, S>(
        &self,
        function: &'static str,
        events: &[W],
        (now, batch): (DateTime<Utc>, bool),
        bytes: fn(&W) -> usize,
        call: impl Fn(
            &Exports<'_>,
            &mut Store<HostState>,
            &[W],
            wit::Instant,
            Option<u32>,
        ) -> wasmtime::Result<Result<Vec<W>, WitAppError>>,
        stored: fn(W) -> Result<S, String>,
    ) -> Result<Vec<S>, Error> {
        let now = convert::instant(now);
        let mut checked = Vec::with_capacity(events.len());
        for (start, part) in parts(events, bytes, batch) {
            // An answer the host refuses drops the instance that gave it.
            let answer = self.call_judged(
                function,
                |exports, store| call(exports, store, part, now, start),
                |answer| {
                    let answer = answer.map_err(|error| self.rule_error(function, error))?;
                    self.same_count(function, part.len(), answer.len())?;
                    answer
                        .into_iter()
                        .map(|event| {
                            stored(event).map_err(|reason| self.violation(function, reason))
                        })
                        .collect::<Result<Vec<S>, Error>>()
                },
            )?;
            checked.extend(answer);
        }
        Ok(checked)
    }

    /// The error for an event the store refused (`index`: its place in a batch): a
    /// [`Error::Conflict`] for an id stored with other content, else a validation error.
    pub fn refused(&self, refusal: Refusal, index: Option<usize>) -> Result<Error, Error> {
        const FUNCTION: &str = "events.refused";
        let conflict = matches!(refusal, Refusal::Conflict { .. });
        let refusal = convert::refusal(refusal);
        let index = index.map(|index| u32::try_from(index).unwrap_or(u32::MAX));
        let error: AppError = self.call_judged(
            FUNCTION,
            |exports, store| {
                exports
                    .events(&mut *store)?
                    .call_refused(store, &refusal, index)
            },
            |error| {
                let error: AppError = error.into();
                if matches!(error, AppError::Validation { .. }) {
                    Ok(error)
                } else {
                    Err(self.violation(
                        FUNCTION,
                        format!("answered a {} for a refused event", error.error_code()),
                    ))
                }
            },
        )?;
        Ok(if conflict {
            Error::Conflict(error)
        } else {
            Error::App(error)
        })
    }

    /// A rule's failure: a validation error (the client's fault); any other kind means the
    /// policy broke the contract.
    fn rule_error(&self, function: &'static str, error: WitAppError) -> Error {
        let error: AppError = error.into();
        if matches!(error, AppError::Validation { .. }) {
            Error::App(error)
        } else {
            self.violation(
                function,
                format!("answered a {} for a rule's failure", error.error_code()),
            )
        }
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

/// The calls a batch is checked in: consecutive parts of at most [`CALL_BYTES`] (estimated
/// by `bytes`; at least one event each), each with the index of its first event in the batch
/// when `batch`. No events, no call.
fn parts<E>(events: &[E], bytes: fn(&E) -> usize, batch: bool) -> Vec<(Option<u32>, &[E])> {
    let mut parts = Vec::new();
    let mut start = 0;
    while start < events.len() {
        let mut total = bytes(&events[start]);
        let mut end = start + 1;
        while end < events.len() && total + bytes(&events[end]) <= CALL_BYTES {
            total += bytes(&events[end]);
            end += 1;
        }
        let first = batch.then(|| u32::try_from(start).unwrap_or(u32::MAX));
        parts.push((first, &events[start..end]));
        start = end;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_cut_by_size_and_every_part_knows_its_start() {
        let sizes = [CALL_BYTES / 2, CALL_BYTES / 2, 1, CALL_BYTES * 3, 5];
        let cut: Vec<(Option<u32>, usize)> = parts(&sizes, |size| *size, true)
            .into_iter()
            .map(|(start, part)| (start, part.len()))
            .collect();
        assert_eq!(
            cut,
            [(Some(0), 2), (Some(2), 1), (Some(3), 1), (Some(4), 1)]
        );
        let alone: Vec<(Option<u32>, usize)> = parts(&[1usize], |size| *size, false)
            .into_iter()
            .map(|(start, part)| (start, part.len()))
            .collect();
        assert_eq!(alone, [(None, 1)]);
        assert!(parts(&[] as &[usize], |size| *size, true).is_empty());
    }
}
