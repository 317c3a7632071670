//! `.env` text through the policy's configuration (`config::load` with the text and no
//! environment pairs): it never panics, its output stays within what the text expands to
//! (see `expansion_bound`), a syntax error names a line of the file, secret settings and
//! problems show `***`, and no value that depends on a secret variable is ever shown.
//!
//! The last property is checked by loading twice. dotenvy expands `$NAME` and `${NAME}` from
//! the process environment first: with the secret variables set in the process to one
//! marker, then to another of the same kind, every `.env` value that expands one of them
//! changes, and nothing the configuration shows (settings, problems, the error) may change.
//! A text with the markers' first character (U+0001) is left out: from it a value could
//! spell a marker without expanding a secret variable, and the policy hides any value that
//! contains a secret's value, so that value is shown with one marker set and hidden with the
//! other, as it should be. Without that character no value can hold a marker but by
//! expansion (no escape writes it, and no other variable of the process holds it).

#![no_main]

use bachata_common_policy::config::{self, NoSecrets, REDACTED};
use bachata_common_policy::types::{ConfigError, ResolvedConfig};
use libfuzzer_sys::fuzz_target;

/// The variables whose values are always secret (`config` module documentation).
const SECRET_VARIABLES: [&str; 3] = [
    "ELASTICSEARCH_PASSWORD",
    "ELASTICSEARCH_API_KEY",
    "BACHATA_API_TOKEN",
];
/// Two values for the secret variables that no setting takes as valid (control characters,
/// not numbers), of the same length.
const MARKERS: [&str; 2] = ["\u{1}fuzz-secret-a\u{2}", "\u{1}fuzz-secret-b\u{2}"];
/// The markers' first character: a text holding it could spell a marker without expanding one.
const MARKER_START: char = '\u{1}';

/// Every text the configuration shows: setting values, problems, the error.
fn shown(result: &Result<ResolvedConfig, ConfigError>) -> Vec<String> {
    match result {
        Ok(config) => config.settings.iter().map(|s| s.value.clone()).collect(),
        Err(error) => {
            let mut texts = vec![error.error.message.clone()];
            for (key, value) in &error.error.details {
                texts.push(key.clone());
                texts.push(value.clone());
            }
            for problem in &error.problems {
                texts.push(problem.message.clone());
                texts.extend(problem.value.clone());
            }
            texts
        }
    }
}

fn set_secret_variables(value: Option<&str>) {
    for name in SECRET_VARIABLES {
        // SAFETY: a fuzz target runs on one thread; nothing else reads the environment.
        unsafe {
            match value {
                Some(value) => std::env::set_var(name, value),
                None => std::env::remove_var(name),
            }
        }
    }
}

/// The longest a value of `text` can be once dotenvy expanded it: each line may repeat every
/// value defined before it (or a process variable) once per `$`, so the bound grows by that
/// factor line after line: `A=$A$A` on 30 lines is 2^30 times `A`. The policy does not bound
/// it (its memory limit does); inputs past 1 MiB are left out here.
fn expansion_bound(text: &str) -> usize {
    static LONGEST_VARIABLE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let longest = *LONGEST_VARIABLE.get_or_init(|| {
        let values = std::env::vars_os().map(|(_, value)| value.len());
        values.chain(MARKERS.map(str::len)).max().unwrap_or(0)
    });
    text.split('\n').fold(longest, |bound, line| {
        let references = line.matches('$').count();
        bound
            .saturating_mul(references + 1)
            .saturating_add(line.len() + 1)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if text.contains(MARKER_START) {
        return;
    }
    let bound = expansion_bound(&text);
    if bound > 1 << 20 {
        return;
    }
    set_secret_variables(None);
    let plain = config::load(&[], Some(&text), &NoSecrets);

    // Bounded output: a fixed set of settings, each value at most what the text expands to or
    // a number written out (1e-300 is 300 digits), and at most one problem per setting and
    // one for the file.
    let settings = match &plain {
        Ok(config) => config.settings.len(),
        Err(error) => error.problems.len(),
    };
    assert!(settings <= 64, "{settings} settings or problems");
    for value in shown(&plain) {
        assert!(
            value.len() <= 4 * bound + 4096,
            "a shown text of {} bytes from {} bytes of input (expanding to at most {bound})",
            value.len(),
            text.len()
        );
    }
    match &plain {
        Ok(config) => {
            for setting in &config.settings {
                if setting.secret {
                    assert!(
                        setting.value.is_empty() || setting.value == REDACTED,
                        "{setting:?}"
                    );
                }
            }
        }
        Err(error) => {
            // A syntax error names a line of the file (or none): never its content.
            let lines = text.matches('\n').count() + 1;
            let file = error.problems.iter().find(|p| p.variable == ".env");
            if let Some(value) = file.and_then(|problem| problem.value.as_ref()) {
                let line: usize = value
                    .strip_prefix("line ")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("the .env problem's value {value:?}"));
                assert!((1..=lines).contains(&line), "line {line} of {lines}");
            }
            for problem in &error.problems {
                if let Some(value) = &problem.value
                    && SECRET_VARIABLES.contains(&problem.variable.as_str())
                {
                    assert_eq!(value, REDACTED, "{problem:?}");
                }
            }
        }
    }

    let [a, b] = MARKERS.map(|marker| {
        set_secret_variables(Some(marker));
        shown(&config::load(&[], Some(&text), &NoSecrets))
    });
    set_secret_variables(None);
    if a != b {
        match a.iter().zip(&b).find(|(a, b)| a != b) {
            Some((a, b)) => panic!("a value expanding a secret variable is shown: {a:?} / {b:?}"),
            None => panic!("a secret variable's value changes what is shown: {a:?} / {b:?}"),
        }
    }
});
