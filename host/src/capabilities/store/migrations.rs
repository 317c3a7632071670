//! Versioned migrations, applied in order on open, each once, in the same transaction as the
//! bookkeeping row that records it. Two processes opening one database at once apply each
//! migration once: SQLite's write lock or PostgreSQL's advisory lock serializes them.

use super::sql::{StoreError, Tx, Value};

/// The migrations, oldest first: (version, name, SQL).
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "events",
        include_str!("../../../migrations/0001_events.sql"),
    ),
    (
        2,
        "experiments",
        include_str!("../../../migrations/0002_experiments.sql"),
    ),
];

/// A key for PostgreSQL's advisory lock held while migrating.
const LOCK_KEY: i64 = 0x0062_6163_6861_7461;

/// Brings the schema up to the newest migration; refuses a database migrated by a newer host.
pub fn apply(tx: &mut dyn Tx, postgres: bool) -> Result<(), StoreError> {
    // PostgreSQL: wait for another process migrating (SQLite: the write lock already waits).
    if postgres {
        tx.query(
            "SELECT pg_advisory_xact_lock($1)",
            &[Value::Int(LOCK_KEY)],
            &mut |_| Ok(()),
        )?;
    }
    tx.batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version BIGINT PRIMARY KEY,
             name TEXT NOT NULL,
             applied_at_ms BIGINT NOT NULL
         )",
    )?;
    let mut current = 0i64;
    tx.query(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        &[],
        &mut |row| {
            current = row.int(0)?;
            Ok(())
        },
    )?;
    let newest = MIGRATIONS.last().map_or(0, |(version, _, _)| *version);
    if current > newest {
        return Err(StoreError::Database(format!(
            "the database's schema is at version {current}, newer than this host knows ({newest}): \
             upgrade bachata-common"
        )));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > current) {
        if postgres {
            tx.batch(sql)?;
        } else {
            tx.batch(&sql.replace("/*WITHOUT_ROWID*/", "WITHOUT ROWID"))?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)",
            &[
                Value::Int(*version),
                Value::from(*name),
                Value::Int(chrono::Utc::now().timestamp_millis()),
            ],
        )?;
        tracing::info!(version, name, "monitor schema migrated");
    }
    Ok(())
}
