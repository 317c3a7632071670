//! The monitor section: where the performance monitor stores its events, and for how long.

use super::conninfo;
use super::resolver::Resolver;
use crate::types::{MonitorSettings, ResourceSettings, Source};

/// The event store's file name in the data directory, where it is by default
/// (`data/monitor.sqlite3` with the default data directory).
pub const DATABASE_FILE: &str = "monitor.sqlite3";
/// Default retention, in days.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;

const DATABASE: &str = "MONITOR_DATABASE";
const DATABASE_EXPECTED: &str = "a SQLite file path outside the managed areas, or a PostgreSQL \
connection string (postgres://user:password@host:port/dbname, or host=... dbname=...)";

/// Whether `value` names a PostgreSQL database (a URI or a `keyword=value` string).
pub fn is_postgres_url(value: &str) -> bool {
    conninfo::is_postgres(value)
}

/// A database setting is valid when it is a PostgreSQL URI with something after the scheme, a
/// well-formed `keyword=value` string, or a non-empty path that is not another kind of URL.
fn valid_database(value: &str) -> bool {
    if conninfo::is_uri(value) {
        return value
            .split_once("://")
            .is_some_and(|(_, rest)| !rest.is_empty());
    }
    if conninfo::is_keyword_value(value) {
        return conninfo::keyword_value_is_valid(value);
    }
    !value.is_empty() && !value.contains("://") && !value.chars().any(char::is_control)
}

/// The components of a path, `.` dropped and `..` applied lexically (a leading `..` kept).
fn components(path: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts
}

/// The managed area a SQLite `database` file would sit in (compared as written: both paths
/// relative, or both absolute), if any. Cleanup removes old files there, the database's
/// journal among them.
fn managed_area<'a>(database: &str, data_dir: &str, areas: &'a [String]) -> Option<&'a str> {
    if database.starts_with('/') != data_dir.starts_with('/') {
        return None;
    }
    let file = components(database);
    let root = components(data_dir);
    areas.iter().map(String::as_str).find(|area| {
        let mut dir = root.clone();
        dir.push(area);
        file.len() > dir.len() && file.starts_with(&dir)
    })
}

/// Resolves the monitor settings; the database defaults to a file in the data directory and
/// may not sit in a managed area.
pub(super) fn resolve(r: &mut Resolver<'_>, resources: &ResourceSettings) -> MonitorSettings {
    let data_dir = resources.data_dir.as_str();
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
            // A password anywhere in a connection string makes the whole value a secret.
            raw.secret |= conninfo::has_password(&value);
            let inside_area = (!is_postgres_url(&value))
                .then(|| managed_area(&value, data_dir, &resources.areas))
                .flatten();
            if let Some(area) = inside_area {
                r.problem(
                    DATABASE,
                    Some(&raw),
                    &format!(
                        "a database outside the managed areas (it is inside `{area}`, whose \
                         old files cleanup removes)"
                    ),
                );
                r.record(DATABASE, raw.value.clone(), raw.source, raw.secret);
                default
            } else if valid_database(&value) {
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
        assert!(is_postgres_url("host=/run/pg dbname=monitor"));
        assert!(!is_postgres_url("data/monitor.sqlite3"));
        assert!(valid_database("data/monitor.sqlite3"));
        assert!(valid_database("postgresql:///db?host=/tmp"));
        assert!(valid_database("host=db password='a b'"));
        assert!(!valid_database("host=db password='a b"));
        assert!(!valid_database("mysql://h/db"));
        assert!(!valid_database(""));
        assert!(!valid_database("postgres://"));
        assert!(!valid_database("data/m\u{1b}.db"));
    }

    #[test]
    fn a_database_in_a_managed_area_is_found() {
        let areas = ["temp", "cache", "output"].map(String::from);
        assert_eq!(managed_area("data/temp/m.db", "data", &areas), Some("temp"));
        assert_eq!(
            managed_area("./data//cache/x/m.db", "data/", &areas),
            Some("cache")
        );
        assert_eq!(
            managed_area("data/x/../output/m.db", "./data", &areas),
            Some("output")
        );
        assert_eq!(
            managed_area("/srv/d/temp/m.db", "/srv/d", &areas),
            Some("temp")
        );
        assert_eq!(managed_area("data/monitor.sqlite3", "data", &areas), None);
        assert_eq!(managed_area("data/temp", "data", &areas), None);
        assert_eq!(managed_area("data/temporary/m.db", "data", &areas), None);
        assert_eq!(managed_area("/elsewhere/m.db", "data", &areas), None);
    }
}
