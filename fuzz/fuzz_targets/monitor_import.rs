//! The monitor's `--from` JSON Lines reader (`monitor::Spool::read`) over any bytes, for
//! decisions and for feedback: it never panics, fails naming a line of the input, and spools
//! exactly the non-blank lines when it succeeds, each of which the HTTP path
//! (`serde_json` + `validate`) accepts too.

#![no_main]

use bachata_common::monitor::{DecisionInput, Event, FeedbackInput, Spool};
use bachata_common::{AppError, Error};
use chrono::{DateTime, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap()
}

fn check<E: Event + DeserializeOwned>(data: &[u8]) {
    let lines: Vec<&[u8]> = {
        let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
        if data.ends_with(b"\n") || data.is_empty() {
            lines.pop();
        }
        lines
    };
    match Spool::read::<E>(data, "fuzz input", now()) {
        Ok(spool) => {
            let mut events = 0;
            for line in &lines {
                let text = std::str::from_utf8(line).expect("a spooled input is UTF-8");
                if text.trim().is_empty() {
                    continue;
                }
                events += 1;
                let input: E = serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("spooled, but not an event: {e}: {text:?}"));
                if let Err(error) = input.check(now()) {
                    panic!("spooled, but refused: {error}: {text:?}");
                }
            }
            assert_eq!(spool.len(), events);
        }
        Err(Error::App(AppError::Validation { message, .. })) => {
            let number: usize = message
                .strip_prefix("line ")
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("the error names no line: {message:?}"));
            assert!(
                (1..=lines.len()).contains(&number),
                "line {number} of {}: {message}",
                lines.len()
            );
        }
        Err(other) => panic!("not a validation error: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    check::<DecisionInput>(data);
    check::<FeedbackInput>(data);
});
