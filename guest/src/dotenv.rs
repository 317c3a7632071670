//! `.env` text parsing with dotenvy's parser, with errors that name the line and never
//! echo the line's content (it may hold a secret).
//!
//! dotenvy expands `${NAME}` and `$NAME` in values, so a value may carry another variable's
//! secret. [`parse`] reports what is needed to hide such values: every value given to a
//! sensitive variable, and the variables whose definition refers to a sensitive one.

use std::collections::{HashMap, HashSet};

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

/// The variables of a `.env` file, and what is needed to keep its secrets hidden.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dotenv {
    /// Each variable's value; a variable defined twice keeps its first value (dotenvy's rule
    /// for loading a file).
    pub vars: HashMap<String, String>,
    /// Every non-empty value given to a sensitive variable, in file order. A later definition
    /// does not replace the first one in `vars`, but `${NAME}` expands to it.
    pub sensitive_values: Vec<String>,
    /// Variables whose definition refers (`$NAME` or `${NAME}`) to a sensitive variable, or to
    /// a variable defined so earlier in the file, wherever the reference stands in the line.
    pub tainted: HashSet<String>,
}

/// Parses `.env` text into variables; `sensitive` names the variables whose values are
/// secrets.
pub fn parse(text: &str, sensitive: &[&str]) -> Result<Dotenv, DotenvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parsed = Dotenv::default();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok((key, value)) => {
                if sensitive.contains(&key.as_str()) && !value.is_empty() {
                    parsed.sensitive_values.push(value.clone());
                }
                parsed.vars.entry(key).or_insert(value);
            }
            Err(error) => return Err(locate(text, error)),
        }
    }
    let mut tainted: HashSet<&str> = sensitive.iter().copied().collect();
    for line in logical_lines(text) {
        let Some((key, value)) = definition(line) else {
            continue;
        };
        if references(value).any(|name| tainted.contains(name)) {
            tainted.insert(key);
            parsed.tainted.insert(key.to_string());
        }
    }
    Ok(parsed)
}

/// Where dotenvy's line splitter stands after some text (a port of its states).
#[derive(Clone, Copy)]
enum LineState {
    Complete,
    Escape,
    StrongOpen,
    StrongOpenEscape,
    WeakOpen,
    WeakOpenEscape,
    Comment,
    WhiteSpace,
}

/// The state after `physical` starting from `state`, and the byte where a comment starts
/// (meaningful for [`LineState::Comment`] only).
fn end_state(mut state: LineState, physical: &str) -> (usize, LineState) {
    use LineState::*;
    for (position, c) in physical.char_indices() {
        state = match state {
            WhiteSpace => match c {
                '#' => return (position, Comment),
                '\\' => Escape,
                '"' => WeakOpen,
                '\'' => StrongOpen,
                _ => Complete,
            },
            Escape => Complete,
            Complete => match c {
                c if c.is_whitespace() && c != '\n' && c != '\r' => WhiteSpace,
                '\\' => Escape,
                '"' => WeakOpen,
                '\'' => StrongOpen,
                _ => Complete,
            },
            WeakOpen => match c {
                '\\' => WeakOpenEscape,
                '"' => Complete,
                _ => WeakOpen,
            },
            WeakOpenEscape => WeakOpen,
            StrongOpen => match c {
                '\\' => StrongOpenEscape,
                '\'' => Complete,
                _ => StrongOpen,
            },
            StrongOpenEscape => StrongOpen,
            Comment => return (position, Comment),
        };
    }
    (physical.len(), state)
}

/// The logical lines of `.env` text as dotenvy splits them: a quoted value may span several
/// physical lines, and a comment after whitespace ends a line.
fn logical_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut state = LineState::Complete;
    let mut position = 0;
    while position < text.len() {
        let end = text[position..]
            .find('\n')
            .map_or(text.len(), |newline| position + newline + 1);
        let physical = &text[position..end];
        let logical = &text[start..end];
        if logical.trim_start().starts_with('#') {
            start = end;
            position = end;
            state = LineState::Complete;
            continue;
        }
        let (comment, next) = end_state(state, physical);
        match next {
            LineState::Complete => {
                lines.push(logical);
                start = end;
                state = LineState::Complete;
            }
            LineState::Comment => {
                lines.push(&text[start..position + comment]);
                start = end;
                state = LineState::Complete;
            }
            open => state = open,
        }
        position = end;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// The key and the text after `=` of a definition line (`KEY=...` or `export KEY=...`).
fn definition(line: &str) -> Option<(&str, &str)> {
    let key_end =
        |text: &str| text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'));
    let line = line.trim_start();
    let end = key_end(line)?;
    let (mut key, mut rest) = line.split_at(end);
    if key == "export" && !rest.trim_start().starts_with('=') {
        let after = rest.trim_start();
        let end = key_end(after)?;
        (key, rest) = after.split_at(end);
    }
    let value = rest.trim_start().strip_prefix('=')?;
    (!key.is_empty()).then_some((key, value))
}

/// The names `value` refers to: `${NAME}`, and for `$NAME` both the longest run of letters,
/// digits and `_` and the run of letters and digits dotenvy takes as the name.
fn references(value: &str) -> impl Iterator<Item = &str> {
    value.match_indices('$').flat_map(move |(at, _)| {
        let after = &value[at + 1..];
        let names: [Option<&str>; 2] = match after.strip_prefix('{') {
            Some(block) => [
                Some(block.split_once('}').map_or(block, |(name, _)| name)),
                None,
            ],
            None => {
                let run = |keep: fn(char) -> bool| {
                    let end = after.find(|c: char| !keep(c)).unwrap_or(after.len());
                    &after[..end]
                };
                [
                    Some(run(|c| c.is_ascii_alphanumeric() || c == '_')),
                    Some(run(char::is_alphanumeric)),
                ]
            }
        };
        names.into_iter().flatten().filter(|name| !name.is_empty())
    })
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

    const SENSITIVE: &[&str] = &["PW"];

    #[test]
    fn parses_plain_quoted_exported_and_commented_values() {
        let vars = parse(
            "# comment\nA=1\nexport B='two words'\nC=\"multi\nline\"\nD=x # trailing\nA=ignored\n",
            &[],
        )
        .expect("valid")
        .vars;
        assert_eq!(vars["A"], "1");
        assert_eq!(vars["B"], "two words");
        assert_eq!(vars["C"], "multi\nline");
        assert_eq!(vars["D"], "x");
    }

    #[test]
    fn unterminated_quote_names_its_line_and_hides_the_value() {
        let error = parse("A=1\nB=2\nPASSWORD=\"hunter2\nC=3\n", &[]).expect_err("invalid");
        assert_eq!(error.line, Some(3));
        assert_eq!(error.key.as_deref(), Some("PASSWORD"));
        assert!(error.reason.contains("unterminated"), "{error}");
        assert!(!error.to_string().contains("hunter2"));
    }

    #[test]
    fn syntax_error_names_its_line() {
        let error = parse("A=1\n\nnot a valid line\n", &[]).expect_err("invalid");
        assert_eq!(error.line, Some(3));
        assert!(error.to_string().starts_with("line 3"), "{error}");
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        let vars = parse("\u{feff}A=1\n", &[]).expect("valid").vars;
        assert_eq!(vars["A"], "1");
    }

    #[test]
    fn logical_lines_follow_quotes_and_comments() {
        let text = "# c\nA=1\n\nB=\"two\nlines\" # note\nC='x\\'\ny'\nD=3";
        assert_eq!(
            logical_lines(text),
            ["A=1\n", "\n", "B=\"two\nlines\" ", "C='x\\'\ny'\n", "D=3"]
        );
    }

    #[test]
    fn definitions_and_references() {
        assert_eq!(definition("  export  K.1 = v"), Some(("K.1", " v")));
        assert_eq!(definition("export=1"), Some(("export", "1")));
        assert_eq!(definition("\n"), None);
        let names: Vec<&str> = references("a$PW_X-${B.C}$$D ${open").collect();
        assert_eq!(names, ["PW_X", "PW", "B.C", "D", "D", "open"]);
    }

    #[test]
    fn every_sensitive_value_is_kept() {
        let parsed = parse("PW=first\nPW=second\nPW=\nA=first\n", SENSITIVE).expect("valid");
        assert_eq!(parsed.vars["PW"], "first");
        assert_eq!(parsed.sensitive_values, ["first", "second"]);
    }

    #[test]
    fn references_to_sensitive_variables_taint_the_definition() {
        let text = concat!(
            "A=${PW}\n",
            "B=x$PW\n",
            "C=$PW_OLD\n",
            "D=${A}\n",
            "E=\"multi\nline ${PW}\"\n",
            "F=plain # ${PW} in a comment\n",
            "G='${PW}'\n",
            "H=${E}${HOST}\n",
            "I=$HOST\n",
            "export J=${PW}\n",
        );
        let parsed = parse(text, SENSITIVE).expect("valid");
        let mut tainted: Vec<&str> = parsed.tainted.iter().map(String::as_str).collect();
        tainted.sort_unstable();
        assert_eq!(tainted, ["A", "B", "C", "D", "E", "G", "H", "J"]);
    }

    #[test]
    fn a_reference_before_the_definition_does_not_taint() {
        let parsed = parse("A=${B}\nB=${PW}\n", SENSITIVE).expect("valid");
        assert_eq!(
            parsed.tainted,
            HashSet::from(["B".to_string()]),
            "dotenvy expands only what is defined above"
        );
    }
}
