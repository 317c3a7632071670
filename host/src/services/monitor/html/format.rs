//! Number formatting and HTML escaping for the report page and its charts.

use std::borrow::Cow;

use crate::types::text::printable;

/// `text` safe in HTML text and attribute values, with control and bidirectional
/// formatting characters made visible.
pub(super) fn escape(text: &str) -> Cow<'_, str> {
    let text = printable(text);
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    Cow::Owned(out)
}

/// `value` with `decimals` decimals, or a dash when it is not a number.
pub(super) fn number(value: f64, decimals: usize) -> String {
    if value.is_finite() {
        format!("{value:.decimals$}")
    } else {
        "—".to_string()
    }
}

/// `value` (a share in [0, 1]) as a percentage.
pub(super) fn percent(value: f64) -> String {
    if value.is_finite() {
        format!("{:.1} %", value * 100.0)
    } else {
        "—".to_string()
    }
}

/// A finite value for a chart (0 for NaN or infinities).
pub(super) fn finite(value: f64) -> f64 {
    if value.is_finite() { value } else { 0.0 }
}
