//! `.env` text parsing with dotenvy's parser, with errors that name the line and never
//! echo the line's content (it may hold a secret).

use std::collections::HashMap;

/// A `.env` syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvError {
    /// 1-based line of the file where the problem is, when it could be located.
    pub line: Option<usize>,
    /// The variable being defined on that line, when it can be told.
    pub key: Option<String>,
    /// What is wrong, without the line's content.
    pub reason: String,
}

impl std::fmt::Display for DotenvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}")?,
            None => write!(f, "unknown line")?,
        }
        if let Some(key) = &self.key {
            write!(f, " ({key})")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Parses `.env` text into variables; a variable defined twice keeps its first value
/// (dotenvy's rule for loading a file).
pub fn parse(text: &str) -> Result<HashMap<String, String>, DotenvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut vars = HashMap::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok((key, value)) => {
                vars.entry(key).or_insert(value);
            }
            Err(error) => return Err(locate(text, error)),
        }
    }
    Ok(vars)
}

/// Turns dotenvy's error into one that names the file line.
fn locate(text: &str, error: dotenvy::Error) -> DotenvError {
    match error {
        dotenvy::Error::LineParse(logical_line, index) => {
            let key = logical_line
                .split_once('=')
                .map(|(key, _)| key.trim().trim_start_matches("export ").trim())
                .filter(|key| {
                    !key.is_empty()
                        && key
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                })
                .map(str::to_string);
            let start = text.find(logical_line.as_str());
            let at_end = index >= logical_line.len();
            let line = start.map(|start| {
                let offset = if at_end { 0 } else { index };
                let before = &text[..start];
                let within = logical_line.get(..offset).unwrap_or("");
                before.matches('\n').count() + within.matches('\n').count() + 1
            });
            let reason = if at_end && has_open_quote(&logical_line) {
                "unterminated quoted value (a quote is opened but never closed)".to_string()
            } else {
                format!(
                    "syntax error at column {} (expected KEY=VALUE)",
                    column(&logical_line, index)
                )
            };
            DotenvError { line, key, reason }
        }
        other => DotenvError {
            line: None,
            key: None,
            reason: other.to_string(),
        },
    }
}

/// 1-based column of byte `index` within its own physical line.
fn column(logical_line: &str, index: usize) -> usize {
    let prefix = logical_line.get(..index).unwrap_or(logical_line);
    prefix
        .rsplit_once('\n')
        .map_or(prefix, |(_, last)| last)
        .chars()
        .count()
        + 1
}

/// Whether a quote opened in `line` is still open at its end.
fn has_open_quote(line: &str) -> bool {
    let mut open: Option<char> = None;
    let mut escaped = false;
    for c in line.chars() {
        match open {
            Some(quote) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == quote {
                    open = None;
                }
            }
            None if c == '"' || c == '\'' => open = Some(c),
            None if c == '#' => return false,
            None => {}
        }
    }
    open.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_quoted_exported_and_commented_values() {
        let vars = parse(
            "# comment\nA=1\nexport B='two words'\nC=\"multi\nline\"\nD=x # trailing\nA=ignored\n",
        )
        .expect("valid");
        assert_eq!(vars["A"], "1");
        assert_eq!(vars["B"], "two words");
        assert_eq!(vars["C"], "multi\nline");
        assert_eq!(vars["D"], "x");
    }

    #[test]
    fn unterminated_quote_names_its_line_and_hides_the_value() {
        let error = parse("A=1\nB=2\nPASSWORD=\"hunter2\nC=3\n").expect_err("invalid");
        assert_eq!(error.line, Some(3));
        assert_eq!(error.key.as_deref(), Some("PASSWORD"));
        assert!(error.reason.contains("unterminated"), "{error}");
        assert!(!error.to_string().contains("hunter2"));
    }

    #[test]
    fn syntax_error_names_its_line() {
        let error = parse("A=1\n\nnot a valid line\n").expect_err("invalid");
        assert_eq!(error.line, Some(3));
        assert!(error.to_string().starts_with("line 3"), "{error}");
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        let vars = parse("\u{feff}A=1\n").expect("valid");
        assert_eq!(vars["A"], "1");
    }
}
