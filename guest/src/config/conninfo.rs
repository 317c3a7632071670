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
/// ASCII letters and `_` followed by `=` (spaces allowed around it; libpq's keywords are
/// lower case, so `Host=` is a connection string with a wrong keyword, never a file name).
/// A SQLite file whose name looks so is written `./name`.
pub fn is_keyword_value(value: &str) -> bool {
    let trimmed = value.trim_start();
    let word_end = trimmed
        .find(|c: char| !(c.is_ascii_alphabetic() || c == '_'))
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

/// The passwords a PostgreSQL connection string holds, as written and percent-decoded:
/// what no other shown value may reveal either.
pub fn passwords(value: &str) -> Vec<String> {
    let mut found = Vec::new();
    if is_uri(value) {
        let Some((_, rest)) = value.split_once("://") else {
            return found;
        };
        if let Some((credentials, _)) = rest.rsplit_once('@')
            && let Some((_, password)) = credentials.split_once(':')
        {
            found.push(password.to_string());
            found.push(percent_decode(password));
        }
        for pair in rest.split(['?', '&']).skip(1) {
            let (keyword, password) = pair.split_once('=').unwrap_or((pair, ""));
            if is_password_keyword(&percent_decode(keyword)) {
                found.push(password.to_string());
                found.push(percent_decode(password));
            }
        }
    } else if is_keyword_value(value) {
        for (keyword, password) in keyword_value_pairs(value) {
            if is_password_keyword(&keyword) {
                found.push(password);
            }
        }
    }
    found.retain(|password| !password.trim().is_empty());
    found
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
        if !KEYWORDS.contains(&keyword) {
            return false;
        }
        let Some((_, after_value)) = read_value(after.trim_start()) else {
            return false;
        };
        rest = after_value.trim_start();
    }
    true
}

/// Why a PostgreSQL connection string cannot be used, if it cannot: an unknown keyword
/// (libpq's are lower case), a port that is not 1 to 65535, an unknown `sslmode`, an
/// unterminated quote. Never repeats a value.
pub fn problem(value: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = if is_uri(value) {
        let rest = value.split_once("://").map_or("", |(_, rest)| rest);
        // The user information ends at the last `@` (a password may hold `/` or `?`).
        let after_credentials = rest.rsplit_once('@').map_or(rest, |(_, after)| after);
        let (head, query) = after_credentials
            .split_once('?')
            .unwrap_or((after_credentials, ""));
        let authority = head.split('/').next().unwrap_or_default();
        for host in authority.split(',') {
            // `[::1]:5432`, `host:5432`, `host`.
            let port = match host.rsplit_once(']') {
                Some((_, after)) => after.strip_prefix(':'),
                None if host.starts_with('[') => return Some("an unclosed `[` in a host".into()),
                None => host.rsplit_once(':').map(|(_, port)| port),
            };
            if let Some(port) = port
                && !port.is_empty()
                && !valid_port(port)
            {
                return Some("a port is not a number from 1 to 65535".into());
            }
        }
        query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (keyword, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(keyword), percent_decode(value))
            })
            .collect()
    } else if is_keyword_value(value) {
        if !keyword_value_is_valid(value) {
            return Some(
                "it is not `keyword=value` pairs of libpq's keywords (lower case, values \
                 quoted with ' when they hold spaces)"
                    .into(),
            );
        }
        keyword_value_pairs(value)
    } else {
        return None;
    };
    for (keyword, value) in &pairs {
        if !KEYWORDS.contains(&keyword.as_str()) {
            // Named when it is a plain word, so no value can show through it.
            let plain =
                keyword.len() <= 40 && keyword.chars().all(|c| c.is_ascii_alphabetic() || c == '_');
            return Some(if plain {
                format!("`{keyword}` is not one of libpq's keywords")
            } else {
                "a keyword is not one of libpq's".to_string()
            });
        }
        match keyword.as_str() {
            "port"
                if !value
                    .split(',')
                    .all(|port| port.is_empty() || valid_port(port)) =>
            {
                return Some("a port is not a number from 1 to 65535".into());
            }
            "sslmode"
                if ![
                    "disable",
                    "allow",
                    "prefer",
                    "require",
                    "verify-ca",
                    "verify-full",
                ]
                .contains(&value.as_str()) =>
            {
                return Some(
                    "sslmode is not one of disable, allow, prefer, require, verify-ca, verify-full"
                        .into(),
                );
            }
            _ => {}
        }
    }
    None
}

fn valid_port(text: &str) -> bool {
    text.parse::<u32>()
        .is_ok_and(|port| (1..=65_535).contains(&port))
}

/// The keywords of libpq's connection strings (PostgreSQL 17).
pub const KEYWORDS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "require_auth",
    "channel_binding",
    "connect_timeout",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "replication",
    "gssencmode",
    "sslmode",
    "requiressl",
    "sslnegotiation",
    "sslcompression",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslcertmode",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "service",
    "target_session_attrs",
    "load_balance_hosts",
];

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
        assert!(!keyword_value_is_valid("Host=db password=x"));
        assert!(!keyword_value_is_valid("host=db colour=blue"));
        assert!(is_postgres("Host=127.0.0.1 password=x"));
        assert!(has_password("Host=127.0.0.1 PASSWORD=x"));
    }

    #[test]
    fn unusable_strings_are_found() {
        for value in [
            "postgres://u@h:99999/db",
            "postgres://u@h/db?sslmode=bogus",
            "postgres://u@h/db?foo=bar",
            "postgres://u@h/db?PASSWORD=x",
            "postgres://u@[::1:5432/db",
            "host=h port=0",
            "Host=h password=x",
        ] {
            assert!(problem(value).is_some(), "{value}");
        }
        for value in [
            "postgres://u:p@h:5432/db?sslmode=disable&application_name=x",
            "postgresql:///db?host=/run/pg&user=app&password=x",
            "postgres://u@[::1]:5432,h2:5433/db",
            "postgres://app:Leak/Pw?x9@h/db",
            "host=/run/pg dbname=m user=app password='a b' port=5432",
            "data/monitor.sqlite3",
        ] {
            assert_eq!(problem(value), None, "{value}");
        }
    }

    #[test]
    fn passwords_are_extracted() {
        assert_eq!(passwords("postgres://u:p%40ss@h/db"), ["p%40ss", "p@ss"]);
        assert_eq!(passwords("postgres://u@h/db?password=Zq9"), ["Zq9", "Zq9"]);
        assert_eq!(passwords("host=h password='a b'"), ["a b"]);
        assert!(passwords("postgres://u@h/db").is_empty());
        assert!(passwords("data/m.db").is_empty());
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
