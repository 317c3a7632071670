//! The rules of single values: ids, texts, numbers and times, each failure a validation
//! error naming the field.

use super::{
    Instant, MAX_CLOCK_SKEW_SECS, MAX_ENTRIES, MAX_ID_BYTES, MAX_MAGNITUDE, MAX_TEXT_CHARS, invalid,
};
use crate::types::AppError;

/// At most 120 characters of a rejected value, for error messages.
pub(super) fn shorten(value: &str) -> String {
    match value.char_indices().nth(120) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_string(),
    }
}

/// An id is 1 to 128 bytes of ASCII letters, digits, `.`, `_`, `:` and `-`.
pub(super) fn check_id(field: &str, id: &str) -> Result<(), AppError> {
    let valid = !id.is_empty()
        && id.len() <= MAX_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(invalid(
            field,
            Some(id),
            format!(
                "{field} must be 1 to {MAX_ID_BYTES} characters of letters, digits, '.', '_', ':' and '-'"
            ),
        ))
    }
}

/// A text of 1 to `max` characters, not blank, with no control character but line feeds and tabs.
pub(super) fn check_text(field: &str, text: &str, max: usize) -> Result<(), AppError> {
    if text.trim().is_empty() {
        return Err(invalid(
            field,
            Some(text),
            format!("{field} must not be empty"),
        ));
    }
    if text.chars().count() > max {
        return Err(invalid(
            field,
            Some(text),
            format!("{field} is longer than {max} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(invalid(
            field,
            Some(text),
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(())
}

pub(super) fn check_optional_id(field: &str, id: &Option<String>) -> Result<(), AppError> {
    id.as_deref().map_or(Ok(()), |id| check_id(field, id))
}

pub(super) fn check_optional_text(field: &str, text: &Option<String>) -> Result<(), AppError> {
    text.as_deref()
        .map_or(Ok(()), |text| check_text(field, text, MAX_TEXT_CHARS))
}

/// A number from `-limit` to `limit`: sums of many stay finite, so no figure overflows.
pub(super) fn check_bounded(field: &str, value: f64, limit: f64) -> Result<(), AppError> {
    if value.is_finite() && value.abs() <= limit {
        Ok(())
    } else {
        Err(invalid(
            field,
            Some(&value.to_string()),
            format!("{field} must be a number from -{limit:e} to {limit:e}"),
        ))
    }
}

pub(super) fn check_finite(field: &str, value: f64) -> Result<(), AppError> {
    check_bounded(field, value, MAX_MAGNITUDE)
}

/// Free text (comments, song features) may hold line ends and tabs, but no other control
/// character (NUL, ESC, DEL, C1 codes).
pub(super) fn check_free_text(field: &str, text: &str) -> Result<(), AppError> {
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(invalid(
            field,
            None,
            format!("{field} must not contain control characters other than line ends and tabs"),
        ));
    }
    Ok(())
}

/// An instant as RFC 3339 in UTC (`2026-11-26T12:00:00+00:00`, with 3, 6 or 9 digits of the
/// second when it has a fraction), or `None` when it is no time at all.
pub(super) fn rfc3339(instant: Instant) -> Option<String> {
    chrono::DateTime::from_timestamp(instant.seconds, instant.nanoseconds).map(|t| t.to_rfc3339())
}

/// The time of an event, `now` when absent: not before 1970, and at most a day after `now`
/// (whole seconds of difference: clocks of a fleet differ a little).
pub(super) fn check_timestamp(
    field: &str,
    timestamp: Option<Instant>,
    now: Instant,
) -> Result<Instant, AppError> {
    let timestamp = timestamp.unwrap_or(now);
    let Some(shown) = rfc3339(timestamp) else {
        return Err(invalid(
            field,
            Some(&format!(
                "{}.{:09}",
                timestamp.seconds, timestamp.nanoseconds
            )),
            format!("{field} is not a representable time"),
        ));
    };
    if whole_seconds_after(timestamp, now) > MAX_CLOCK_SKEW_SECS {
        return Err(invalid(
            field,
            Some(&shown),
            format!("{field} is more than a day in the future"),
        ));
    }
    if timestamp.seconds < 0 {
        return Err(invalid(
            field,
            Some(&shown),
            format!("{field} is before 1970"),
        ));
    }
    Ok(timestamp)
}

/// Whole seconds from `now` to `time`, truncated toward zero.
fn whole_seconds_after(time: Instant, now: Instant) -> i128 {
    let nanos = |t: Instant| i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanoseconds);
    (nanos(time) - nanos(now)) / 1_000_000_000
}

pub(super) fn check_entries(field: &str, count: usize) -> Result<(), AppError> {
    if count > MAX_ENTRIES {
        Err(invalid(
            field,
            None,
            format!("{field} has {count} entries; at most {MAX_ENTRIES} are allowed"),
        ))
    } else {
        Ok(())
    }
}
