//! PostgreSQL connection strings in every form libpq accepts, read only as far as the
//! configuration needs: whether a value is one, and whether it carries a password anywhere.
//!
//! The forms:
//! - a URI, `postgres://` or `postgresql://`
//!   `[user[:password]@][host][:port][,...][/dbname][?keyword=value&...]`, where a password may
//!   sit in the user information or in the query (`?password=...`), keywords and values
//!   percent-encoded;
//! - a `keyword=value` string (`host=db user=app password='s3 cret'`), values optionally
//!   single-quoted with `\'` and `\\` escapes.
//!
//! The user information is read up to the *last* `@` before the query, so a password holding
//! `/`, `?` or `@` is still found (libpq would reject such a URI; the password must still never
//! be shown).

/// Whether `value` is a PostgreSQL connection string: a `postgres://`/`postgresql://` URI, or
/// a `keyword=value` string whose first word is a keyword followed by `=`.
pub fn is_postgres(value: &str) -> bool {
    is_uri(value) || is_keyword_value(value)
}

/// Whether `value` starts with a PostgreSQL URI scheme (any case).
pub fn is_uri(value: &str) -> bool {
    let lower = value.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// Whether `value` is written as libpq's `keyword=value` pairs: it starts with a word of
/// `a-z` and `_` followed by `=` (spaces allowed around it). A SQLite file whose name looks
/// so is written `./name`.
pub fn is_keyword_value(value: &str) -> bool {
    let trimmed = value.trim_start();
    let word_end = trimmed
        .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
        .unwrap_or(trimmed.len());
    word_end > 0 && trimmed[word_end..].trim_start().starts_with('=')
}

/// Whether a PostgreSQL connection string carries a password: in a URI's user information
/// (`user:password@`) or as a `password` keyword (query or `keyword=value`), in any case and
/// percent-encoded or not. Conservative: when in doubt, it does.
pub fn has_password(value: &str) -> bool {
    if is_uri(value) {
        uri_has_password(value)
    } else if is_keyword_value(value) {
        keyword_value_pairs(value)
            .iter()
            .any(|(keyword, _)| is_password_keyword(keyword))
    } else {
        false
    }
}

/// Checks for a `keyword=value` string that it is well formed: every item is `keyword=value`.
pub fn keyword_value_is_valid(value: &str) -> bool {
    let mut rest = value.trim();
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let Some((keyword, after)) = rest.split_once('=') else {
            return false;
        };
        let keyword = keyword.trim();
        if keyword.is_empty() || !keyword.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            return false;
        }
        let Some((_, after_value)) = read_value(after.trim_start()) else {
            return false;
        };
        rest = after_value.trim_start();
    }
    true
}

fn is_password_keyword(keyword: &str) -> bool {
    keyword.trim().eq_ignore_ascii_case("password")
}

fn uri_has_password(value: &str) -> bool {
    let Some((_, rest)) = value.split_once("://") else {
        return false;
    };
    // User information: up to the last `@` (a password may hold `/`, `?` or `@`).
    if let Some((credentials, _)) = rest.rsplit_once('@')
        && credentials.contains(':')
    {
        return true;
    }
    // Query parameters, percent-decoded, anywhere after a `?`.
    rest.split(['?', '&']).skip(1).any(|pair| {
        let keyword = pair.split('=').next().unwrap_or_default();
        is_password_keyword(&percent_decode(keyword))
    })
}

/// The `(keyword, value)` pairs of a `keyword=value` string, as far as they parse.
fn keyword_value_pairs(value: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = value.trim();
    while let Some((keyword, after)) = rest.split_once('=') {
        let keyword = keyword.split_whitespace().last().unwrap_or_default();
        match read_value(after.trim_start()) {
            Some((text, after_value)) => {
                pairs.push((keyword.to_string(), text));
                rest = after_value.trim_start();
            }
            None => {
                // An unterminated quote: the rest is the value.
                pairs.push((keyword.to_string(), after.to_string()));
                break;
            }
        }
    }
    pairs
}

/// Reads one value: single-quoted with `\` escapes, or up to the next white space. Returns the
/// value and what follows; `None` for an unterminated quote.
fn read_value(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    if let Some(quoted) = text.strip_prefix('\'') {
        let mut chars = quoted.char_indices();
        while let Some((index, c)) = chars.next() {
            match c {
                '\\' => value.push(chars.next()?.1),
                '\'' => return Some((value, &quoted[index + 1..])),
                other => value.push(other),
            }
        }
        return None;
    }
    let mut chars = text.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => return Some((value, &text[index..])),
            '\\' => value.push(chars.next().map(|(_, c)| c).unwrap_or('\\')),
            other => value.push(other),
        }
    }
    Some((value, ""))
}

/// Percent-decodes `text` (invalid escapes kept as they are).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_recognized() {
        assert!(is_postgres("postgres://u@h/db"));
        assert!(is_postgres("PostgreSQL://h/db"));
        assert!(is_postgres("host=db dbname=monitor"));
        assert!(is_postgres(" host = /run/pg user=app"));
        assert!(!is_postgres("data/monitor.sqlite3"));
        assert!(!is_postgres("./host=db"));
        assert!(!is_postgres("/var/lib/a=b.sqlite3"));
        assert!(keyword_value_is_valid(
            "host=db password='a b\\'c' port=5432"
        ));
        assert!(!keyword_value_is_valid("host=db password='open"));
        assert!(!keyword_value_is_valid("host=db stray"));
    }

    #[test]
    fn every_password_is_found() {
        for value in [
            "postgres://app:s3cret@db:5432/monitor",
            "postgres://app:Leak/Pw?x9@h/db",
            "postgres://app:a@b@h/db",
            "postgres://app@h/db?password=s3cret",
            "postgres://app@h/db?sslmode=disable&PASSWORD=s3cret",
            "postgres://app@h/db?pass%77ord=s3cret",
            "postgresql:///db?host=/run/pg&user=app&password=s3cret",
            "host=db password=s3cret",
            "host=db password = 's3 cret'",
            "host=db Password=s3cret",
            "host=db password='unterminated",
        ] {
            assert!(has_password(value), "{value}");
        }
        for value in [
            "postgres://app@db/monitor",
            "postgres://db/monitor?user=app",
            "postgresql:///db?host=/run/pg&user=app",
            "host=db user=app passfile=/run/pgpass",
            "data/monitor.sqlite3",
        ] {
            assert!(!has_password(value), "{value}");
        }
    }
}
