//! The performance monitor's event store: SQLite by default, PostgreSQL when the database is a
//! `postgres://` URL. One schema, created and migrated on open (`host/migrations/`); statements
//! written once for both engines ([`sql`]); events written with their per-day totals
//! ([`events`]); the totals the metrics need read back ([`queries`]).

pub mod backoff;
pub mod events;
pub mod experiments;
mod histogram;
mod migrations;
mod postgres;
pub mod queries;
mod repeats;
pub mod retention;
mod shm;
pub mod sql;
mod sqlite;
mod tables;

use std::path::Path;

use self::postgres::Postgres;
pub use self::sql::StoreError;
use self::sql::Tx;
use self::sqlite::Sqlite;
use crate::types::config::Database;

/// The engine behind a store.
enum Engine {
    Sqlite(Sqlite),
    Postgres(Box<Postgres>),
}

/// An open event store (one connection; share it behind a lock). A PostgreSQL connection
/// that is lost is made again on a later transaction; dropping the store closes it off any
/// async runtime.
pub struct Store {
    engine: Engine,
    /// The database as shown (a URL's password masked).
    shown: String,
}

impl Store {
    /// Opens the store `database` names, creating its schema or bringing it up to date.
    pub fn open(database: &Database) -> Result<Self, StoreError> {
        let engine = if database.is_postgres() {
            Engine::Postgres(Box::new(postgres::connect(database.expose())?))
        } else {
            Engine::Sqlite(sqlite::open(Path::new(database.expose()))?)
        };
        let mut store = Self {
            engine,
            shown: database.masked(),
        };
        let postgres = database.is_postgres();
        store.write(|tx| migrations::apply(tx, postgres))?;
        Ok(store)
    }

    /// `sqlite` or `postgres`.
    pub fn engine(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite(_) => "sqlite",
            Engine::Postgres(_) => "postgres",
        }
    }

    /// The database, its password masked.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Runs `body` in a write transaction: committed when it returns `Ok`, rolled back
    /// otherwise (nothing written). On PostgreSQL `body` may run again, from the start, when
    /// the transaction lost a deadlock, a key to a concurrent writer, or the connection.
    pub fn write<R>(
        &mut self,
        mut body: impl FnMut(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        match &mut self.engine {
            Engine::Sqlite(database) => database.write(|tx| body(tx)),
            Engine::Postgres(client) => client.write(body),
        }
    }

    /// Runs `body` in a read transaction (one consistent snapshot).
    pub fn read<R>(
        &mut self,
        body: impl FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        match &mut self.engine {
            Engine::Sqlite(database) => database.read(body),
            Engine::Postgres(client) => client.read(body),
        }
    }
}
