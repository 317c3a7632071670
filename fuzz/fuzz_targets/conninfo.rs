//! PostgreSQL connection strings as `MONITOR_DATABASE` (through the policy's `config::load`):
//! any value resolves without a panic, a secret setting is always shown as `***`, and a value
//! that carries a password is never shown: not as the setting, not in a problem, not in the
//! error.
//!
//! The input's first byte picks how the value is made from the rest, split at NUL bytes into
//! parts:
//! - `0`: the rest is the value, as it is;
//! - `1`: a URI with a password in its user information,
//!   `<scheme>://<user>:<password>@<rest>`;
//! - `2`: a URI with a `password` query parameter (its keyword in any case, some letters
//!   percent-encoded), `<scheme>://<host>?<before>&password=<password>&<after>`;
//! - `3`: libpq's `keyword=value` form, `<pairs> password = <password> <pairs>`, the values
//!   quoted where they must be.
//!
//! In the forms 1 to 3 the value holds a password, whatever the parts are.

#![no_main]

use bachata_common_policy::config::{self, NoSecrets, REDACTED};
use libfuzzer_sys::fuzz_target;

const VARIABLE: &str = "MONITOR_DATABASE";

/// `value` as one value of libpq's `keyword=value` form.
fn quoted(value: &str, force: bool) -> String {
    let plain = !force
        && !value.is_empty()
        && !value.starts_with('\'')
        && !value.contains(|c: char| c.is_whitespace() || c == '\\' || c == '\'');
    if plain {
        return value.to_string();
    }
    let mut out = String::from("'");
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// A keyword of the form: lower-case letters and `_` only, never empty.
fn keyword(text: &str) -> String {
    let keyword: String = text
        .chars()
        .filter(|c| c.is_ascii_lowercase() || *c == '_')
        .collect();
    if keyword.is_empty() {
        "host".to_string()
    } else {
        keyword
    }
}

/// `password`, with the letters `bits` picks upper-cased and, when `encode`, percent-encoded.
fn password_keyword(bits: u8, encode: bool) -> String {
    "password"
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let c = if bits & (1 << i) != 0 {
                c.to_ascii_uppercase()
            } else {
                c
            };
            if encode && bits & (1 << ((i + 3) % 8)) != 0 {
                format!("%{:02X}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn scheme(bits: u8) -> &'static str {
    ["postgres", "postgresql", "POSTGRES", "PostgreSQL"][usize::from(bits & 3)]
}

/// The value the input makes, and whether it holds a password by construction.
fn value(data: &[u8]) -> Option<(String, bool)> {
    let (&form, rest) = data.split_first()?;
    let (&bits, rest) = rest.split_first().unwrap_or((&0, &[]));
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.split('\0');
    let mut part = || parts.next().unwrap_or_default().to_string();
    Some(match form % 4 {
        0 => (String::from_utf8_lossy(&data[1..]).into_owned(), false),
        1 => {
            let (user, password, rest) = (part(), part(), part());
            (format!("{}://{user}:{password}@{rest}", scheme(bits)), true)
        }
        2 => {
            let (host, before, password, after) = (part(), part(), part(), part());
            let keyword = password_keyword(bits, bits & 0x80 != 0);
            (
                format!(
                    "{}://{host}?{before}&{keyword}={password}&{after}",
                    scheme(bits >> 2)
                ),
                true,
            )
        }
        _ => {
            let parts: Vec<String> = parts.map(str::to_string).collect();
            let (password, pairs) = parts.split_last()?;
            let position = usize::from(bits) % (pairs.len() / 2 + 1);
            let mut items: Vec<String> = pairs
                .chunks(2)
                .map(|pair| {
                    let value = pair.get(1).map_or("", String::as_str);
                    format!("{}={}", keyword(&pair[0]), quoted(value, false))
                })
                .collect();
            // The first keyword decides the form, so it is written in lower case there.
            let upper = position > 0 && bits & 0x40 != 0;
            let name = if upper { "PASSWORD" } else { "password" };
            let spaces = [" ", " \t", ""][usize::from(bits >> 4) % 3];
            items.insert(
                position,
                format!(
                    "{name}{spaces}={spaces}{}",
                    quoted(password, bits & 0x80 != 0)
                ),
            );
            (items.join(" "), true)
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((value, has_password)) = value(data) else {
        return;
    };
    let env = [(VARIABLE.to_string(), value.clone())];
    let result = config::load(&env, None, &NoSecrets);
    let (settings, problems, error) = match &result {
        Ok(config) => (config.settings.clone(), Vec::new(), None),
        Err(error) => (Vec::new(), error.problems.clone(), Some(&error.error)),
    };
    for setting in &settings {
        if setting.secret {
            assert!(
                setting.value.is_empty() || setting.value == REDACTED,
                "{setting:?}"
            );
        }
    }
    if !has_password {
        return;
    }
    let trimmed = value.trim();
    if let Some(setting) = settings.iter().find(|s| s.name == VARIABLE) {
        assert!(setting.secret, "{value:?} is not secret: {setting:?}");
        assert_eq!(setting.value, REDACTED, "{value:?}");
    }
    for problem in problems.iter().filter(|p| p.variable == VARIABLE) {
        assert_eq!(
            problem.value.as_deref(),
            Some(REDACTED),
            "{value:?}: {problem:?}"
        );
        assert!(!problem.message.contains(trimmed), "{value:?}: {problem:?}");
    }
    if let Some(error) = error {
        assert!(!error.message.contains(trimmed), "{value:?}: {error:?}");
        for (_, detail) in &error.details {
            assert!(!detail.contains(trimmed), "{value:?}: {detail:?}");
        }
    }
});
