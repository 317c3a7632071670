//! Text that reaches a terminal or a log line: file names and configuration values may
//! hold newlines, escape sequences or bidirectional overrides, which could forge lines or
//! drive the terminal. [`printable`] writes them as escapes (`\n`, `\u{1b}`); JSON output
//! needs nothing of this (serde escapes control characters).

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as is: control characters (C0, DEL, C1) and the
/// bidirectional formatting characters.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every control or bidirectional formatting character escaped; borrowed when
/// there is none.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            printable("a/b c.mp4"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(printable("café"), "café");
    }

    #[test]
    fn controls_and_overrides_are_escaped() {
        assert_eq!(printable("a\nb"), "a\\nb");
        assert_eq!(printable("x\u{1b}[31my"), "x\\u{1b}[31my");
        assert_eq!(printable("\u{202e}txt"), "\\u{202e}txt");
        assert_eq!(printable("tab\there\r"), "tab\\there\\r");
    }
}
