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

/// What is wrong with a database setting, as what was expected instead, if anything: a
/// PostgreSQL connection string libpq would refuse, or a SQLite path that is empty, another
/// kind of URL, a `file:` URI (SQLite would read its options, `mode=memory` among them), the
/// data directory or an area itself, or a file inside a managed area.
fn database_problem(value: &str, data_dir: &str, areas: &[String]) -> Option<String> {
    if conninfo::is_postgres(value) {
        let empty = conninfo::is_uri(value)
            && value
                .split_once("://")
                .is_none_or(|(_, rest)| rest.is_empty());
        if empty {
            return Some(DATABASE_EXPECTED.to_string());
        }
        return conninfo::problem(value).map(|why| format!("{DATABASE_EXPECTED}; {why}"));
    }
    if value.is_empty() || value.contains("://") || value.chars().any(char::is_control) {
        return Some(DATABASE_EXPECTED.to_string());
    }
    if value
        .get(..5)
        .is_some_and(|head| head.eq_ignore_ascii_case("file:"))
    {
        return Some(format!(
            "{DATABASE_EXPECTED}; a `file:` URI is not taken (write the path itself)"
        ));
    }
    let file = components(value);
    let mut dirs = vec![components(data_dir)];
    for area in areas {
        let mut dir = components(data_dir);
        dir.push(area);
        dirs.push(dir);
    }
    let same_kind = value.starts_with('/') == data_dir.starts_with('/');
    if value.ends_with('/') || (same_kind && dirs.contains(&file)) {
        return Some(format!(
            "{DATABASE_EXPECTED}; a database file, not a directory"
        ));
    }
    managed_area(value, data_dir, areas).map(|area| {
        format!(
            "a database outside the managed areas (it is inside `{area}`, whose old files \
             cleanup removes)"
        )
    })
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
            // The default holds the data directory: a secret one is not shown through it.
            let secret = r
                .settings
                .iter()
                .any(|setting| setting.name == "BACHATA_DATA_DIR" && setting.secret);
            r.record(DATABASE, default.clone(), source, secret);
            default
        }
        Some(mut raw) => {
            let value = raw.value.trim().to_string();
            // A password anywhere in a connection string makes the whole value a secret.
            raw.secret |= conninfo::has_password(&value);
            match database_problem(&value, data_dir, &resources.areas) {
                Some(expected) => {
                    r.problem(DATABASE, Some(&raw), &expected);
                    r.record(DATABASE, raw.value.clone(), raw.source, raw.secret);
                    default
                }
                None => {
                    r.record(DATABASE, value.clone(), raw.source, raw.secret);
                    value
                }
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
        assert!(conninfo::is_postgres("postgres://u@h/db"));
        assert!(conninfo::is_postgres("PostgreSQL://h/db"));
        assert!(conninfo::is_postgres("host=/run/pg dbname=monitor"));
        assert!(!conninfo::is_postgres("data/monitor.sqlite3"));
        let areas = ["temp", "cache", "output"].map(String::from);
        let problem = |value: &str| database_problem(value, "data", &areas);
        assert_eq!(problem("data/monitor.sqlite3"), None);
        assert_eq!(problem("postgresql:///db?host=/tmp"), None);
        assert_eq!(problem("host=db password='a b'"), None);
        for value in [
            "host=db password='a b",
            "mysql://h/db",
            "",
            "postgres://",
            "data/m\u{1b}.db",
            "file:data/temp/x.db",
            "FILE:m.db?mode=memory",
            "data/temp",
            "./data",
            "data/",
            "data/temp/x.db",
            "Host=h password=x",
            "postgres://u@h:99999/db",
        ] {
            assert!(problem(value).is_some(), "{value:?}");
        }
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
