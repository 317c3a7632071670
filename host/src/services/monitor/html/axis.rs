//! The charts' axes: day and category slots on x, the top of y, day labels.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;

use super::format::finite;
use crate::types::metrics::DayMetrics;

/// Day labels under a chart, at most.
pub(super) const MAX_DAY_LABELS: usize = 8;
/// Slots an x axis is at least wide (a lone day's bar stays a bar).
const MIN_SLOTS: usize = 5;

/// `MM-DD` of a `YYYY-MM-DD` day.
fn short_day(day: &str) -> &str {
    day.get(5..).filter(|_| day.len() == 10).unwrap_or(day)
}

/// An x axis of slots 0, 1, … `slots − 1` (days or categories), each one unit wide, with
/// ticks and labels at the given slots only.
pub(super) struct SlotAxis {
    range: RangedCoordf64,
    labels: Vec<f64>,
}

impl SlotAxis {
    pub(super) fn new(slots: usize, labels: impl IntoIterator<Item = usize>) -> Self {
        let slots = slots.max(1);
        // Few slots: centred, with room on both sides.
        let pad = MIN_SLOTS.saturating_sub(slots) as f64 / 2.0;
        Self {
            range: RangedCoordf64::from(-0.5 - pad..slots as f64 - 0.5 + pad),
            labels: labels
                .into_iter()
                .filter(|&slot| slot < slots)
                .map(|slot| slot as f64)
                .collect(),
        }
    }

    /// The axis of `days` days: labels on at most [`MAX_DAY_LABELS`] days, the last one
    /// always.
    pub(super) fn days(days: usize) -> Self {
        let slots = days.max(1);
        let step = slots.div_ceil(MAX_DAY_LABELS).max(1);
        let mut labels: Vec<usize> = (0..slots).rev().step_by(step).collect();
        labels.reverse();
        Self::new(slots, labels)
    }
}

impl Ranged for SlotAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.range.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.labels.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.range()
    }
}

/// The label of the day at slot `value`.
pub(super) fn day_label(days: &[DayMetrics], value: f64) -> String {
    let index = value.round();
    if index < 0.0 || (index - value).abs() > 1e-6 {
        return String::new();
    }
    days.get(index as usize)
        .map(|day| short_day(&day.day).to_string())
        .unwrap_or_default()
}

/// The top of a y axis showing values up to `max`: some headroom, and at least `span`.
pub(super) fn top_of(max: f64, span: f64) -> f64 {
    let max = finite(max);
    (max * 1.15).max(span)
}
