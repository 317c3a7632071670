//! Unit ids as the host accepts them for assignments: one, or a batch.

use super::monitor::invalid;
use crate::types::error::AppError;

/// The longest unit id, in characters.
pub const MAX_UNIT_CHARS: usize = 1_000;

/// Most units one batch of assignments takes ([`check_units`]).
pub const MAX_ASSIGN_BATCH: usize = 100_000;

/// The units of one batch of assignments: at most [`MAX_ASSIGN_BATCH`], each as
/// [`check_unit`] wants it; the first at fault is named by its index (`units[3]`).
pub fn check_units<S: AsRef<str>>(units: &[S]) -> Result<(), AppError> {
    if units.is_empty() || units.len() > MAX_ASSIGN_BATCH {
        return Err(invalid(
            "units",
            Some(units.len().to_string()),
            format!(
                "a batch of assignments takes 1 to {MAX_ASSIGN_BATCH} units, not {}",
                units.len()
            ),
        ));
    }
    for (index, unit) in units.iter().enumerate() {
        if let Err(AppError::Validation { message, value, .. }) = check_unit(unit.as_ref()) {
            return Err(invalid(
                &format!("units[{index}]"),
                value,
                format!("unit {index}: {message}"),
            ));
        }
    }
    Ok(())
}

/// A unit id the host accepts: at most [`MAX_UNIT_CHARS`] characters, no control character.
pub fn check_unit(unit: &str) -> Result<(), AppError> {
    if unit.chars().count() > MAX_UNIT_CHARS || unit.chars().any(char::is_control) {
        return Err(invalid(
            "unit",
            Some(unit.to_string()),
            format!(
                "the unit id must be at most {MAX_UNIT_CHARS} characters without control characters"
            ),
        ));
    }
    Ok(())
}
