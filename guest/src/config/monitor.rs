//! The monitor section: where the performance monitor stores its events, and for how long.

use super::resolver::Resolver;
use crate::types::{MonitorSettings, Source};

/// The event store's file name in the data directory, where it is by default
/// (`data/monitor.sqlite3` with the default data directory).
pub const DATABASE_FILE: &str = "monitor.sqlite3";
/// Default retention, in days.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;

const DATABASE: &str = "MONITOR_DATABASE";
const DATABASE_EXPECTED: &str =
    "a SQLite file path, or a postgres:// URL (postgres://user:password@host:port/dbname)";

/// Whether `value` names a PostgreSQL database.
pub fn is_postgres_url(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// Whether a URL carries a password (`scheme://user:password@host`).
fn has_password(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .is_some_and(|(credentials, _)| credentials.contains(':'))
}

/// A database setting is valid when it is a PostgreSQL URL with a host part, or a non-empty
/// path that is not another kind of URL.
fn valid_database(value: &str) -> bool {
    if is_postgres_url(value) {
        return value
            .split_once("://")
            .is_some_and(|(_, rest)| !rest.is_empty());
    }
    !value.is_empty() && !value.contains("://") && !value.contains('\0')
}

/// Resolves the monitor settings; the database defaults to a file in `data_dir`.
pub(super) fn resolve(r: &mut Resolver<'_>, data_dir: &str) -> MonitorSettings {
    let default = format!("{}/{DATABASE_FILE}", data_dir.trim_end_matches('/'));
    let database = match r.raw(DATABASE) {
        None => {
            let source = match r.source_of("BACHATA_DATA_DIR") {
                Some(Source::Default) | None => Source::Default,
                Some(_) => Source::Derived,
            };
            r.record(DATABASE, default.clone(), source, false);
            default
        }
        Some(mut raw) => {
            let value = raw.value.trim().to_string();
            // A password in the URL makes the whole value a secret.
            raw.secret |= has_password(&value);
            if valid_database(&value) {
                r.record(DATABASE, value.clone(), raw.source, raw.secret);
                value
            } else {
                r.problem(DATABASE, Some(&raw), DATABASE_EXPECTED);
                r.record(DATABASE, raw.value.clone(), raw.source, raw.secret);
                default
            }
        }
    };
    let retention_days = r.whole(
        "MONITOR_RETENTION_DAYS",
        DEFAULT_RETENTION_DAYS,
        1..=36_500,
        "a whole number of days from 1 to 36500",
    );
    MonitorSettings {
        database,
        retention_days,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_and_paths() {
        assert!(is_postgres_url("postgres://u@h/db"));
        assert!(is_postgres_url("PostgreSQL://h/db"));
        assert!(!is_postgres_url("data/monitor.sqlite3"));
        assert!(valid_database("data/monitor.sqlite3"));
        assert!(valid_database("postgresql:///db?host=/tmp"));
        assert!(!valid_database("mysql://h/db"));
        assert!(!valid_database(""));
        assert!(!valid_database("postgres://"));
    }

    #[test]
    fn a_password_in_the_url_is_found() {
        assert!(has_password("postgres://app:s3cret@db:5432/monitor"));
        assert!(!has_password("postgres://app@db/monitor"));
        assert!(!has_password("postgres://db/monitor?user=a:b"));
        assert!(!has_password("data/monitor.sqlite3"));
    }
}
