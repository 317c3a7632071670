//! SQLite: one file, WAL, opened with its schema on first use. The file (and so its `-wal`
//! and `-shm`, which SQLite creates with its mode) is readable by its owner only, like the
//! directories created for it; its WAL index is guarded against truncation ([`shm`]).

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::Path;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql, Transaction, TransactionBehavior};

use super::shm::{self, Guard};
use super::sql::{Row, StoreError, Tx, Value};

impl ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(value) => ToSqlOutput::Borrowed(ValueRef::Integer(*value)),
            Value::Real(value) => ToSqlOutput::Borrowed(ValueRef::Real(*value)),
            Value::Text(value) => ToSqlOutput::Borrowed(ValueRef::Text(value.as_bytes())),
        })
    }
}

/// An open SQLite database and the guard of its WAL index.
pub struct Sqlite {
    connection: Connection,
    guard: Guard,
}

/// Opens (creating it and its directory when missing) the SQLite file at `path`: WAL, a
/// busy timeout for other processes, foreign keys on.
pub fn open(path: &Path) -> Result<Sqlite, StoreError> {
    shm::install();
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|error| {
                StoreError::Database(format!("cannot create {}: {error}", parent.display()))
            })?;
    }
    // Created here, private, when missing (SQLite would make it 0644); an empty file is an
    // empty database. An existing file keeps its mode.
    let created = match path.as_os_str().to_str() {
        Some(":memory:") => Ok(()),
        _ => OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map(drop),
    };
    match created {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(error) => {
            return Err(StoreError::Database(format!(
                "cannot create {}: {error}",
                path.display()
            )));
        }
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(Duration::from_secs(10))?;
    // The database file is read, never mapped: a file truncated under the process is an I/O
    // error, not a fault.
    connection.pragma_update(None, "mmap_size", 0)?;
    // WAL: readers never block the writer. FULL: a commit is on the disk before it returns
    // (a 2xx means the event survives a power cut).
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    // Statements' scratch tables in memory, and a 16 MiB page cache (the default is 2 MiB).
    connection.pragma_update(None, "temp_store", "MEMORY")?;
    connection.pragma_update(None, "cache_size", -16_000)?;
    connection.set_prepared_statement_cache_capacity(128);
    Ok(Sqlite {
        connection,
        guard: Guard::new(path),
    })
}

impl Sqlite {
    /// Runs `body` in a transaction that takes the write lock at once (no upgrade deadlock
    /// between processes): committed when it returns `Ok`, rolled back otherwise.
    pub fn write<R>(
        &mut self,
        body: impl FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.run(TransactionBehavior::Immediate, body)
    }

    /// Runs `body` in a read transaction: one consistent snapshot.
    pub fn read<R>(
        &mut self,
        body: impl FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.run(TransactionBehavior::Deferred, body)
    }

    /// A transaction the WAL index guard watches: abandoned (and refused) when the index was
    /// truncated meanwhile.
    fn run<R>(
        &mut self,
        behavior: TransactionBehavior,
        body: impl FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let watch = self.guard.check()?;
        let guard = &self.guard;
        let outcome = (|| {
            let mut tx = self.connection.transaction_with_behavior(behavior)?;
            let result = body(&mut tx)?;
            if guard.faulted(watch) {
                // Rolled back: what it read may have come from a damaged index.
                return Ok(None);
            }
            tx.commit()?;
            Ok(Some(result))
        })();
        match outcome {
            _ if guard.faulted(watch) => Err(guard.fault_refusal()),
            Ok(Some(result)) => Ok(result),
            Ok(None) => Err(guard.fault_refusal()),
            Err(error) => Err(error),
        }
    }
}

struct SqliteRow<'a, 'b>(&'a rusqlite::Row<'b>);

impl Row for SqliteRow<'_, '_> {
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        Ok(self.0.get(i)?)
    }
    fn real(&self, i: usize) -> Result<f64, StoreError> {
        Ok(self.0.get(i)?)
    }
    fn opt_real(&self, i: usize) -> Result<Option<f64>, StoreError> {
        Ok(self.0.get(i)?)
    }
    fn text(&self, i: usize) -> Result<String, StoreError> {
        Ok(self.0.get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        Ok(self.0.get(i)?)
    }
}

impl Tx for Transaction<'_> {
    fn is_postgres(&self) -> bool {
        false
    }

    fn execute(&mut self, sql: &str, params: &[Value<'_>]) -> Result<u64, StoreError> {
        debug_assert!(super::sql::parameters_in_order(sql), "{sql}");
        let mut statement = self.prepare_cached(sql)?;
        Ok(statement.execute(rusqlite::params_from_iter(params))? as u64)
    }

    fn query(
        &mut self,
        sql: &str,
        params: &[Value<'_>],
        each: &mut dyn FnMut(&dyn Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        debug_assert!(super::sql::parameters_in_order(sql), "{sql}");
        let mut statement = self.prepare_cached(sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(params))?;
        while let Some(row) = rows.next()? {
            each(&SqliteRow(row))?;
        }
        Ok(())
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.execute_batch(sql)?)
    }
}
