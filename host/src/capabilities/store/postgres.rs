//! PostgreSQL: a fleet of hosts writing to one database.
//!
//! The connection is made again when it is lost (the server restarted, a network cut): at
//! the start of the next transaction, at most once per [`Backoff`] delay, the requests in
//! between refused as unavailable with when to ask again. The client runs its own small
//! async runtime, so it is never dropped on a thread of another one (see [`close`]).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::time::Duration;

use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, Config, NoTls, Statement};

use super::backoff::Backoff;
use super::sql::{Row, StoreError, Tx, Value};

/// How long connecting may take, unless the connection string says otherwise.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How many times a transaction is tried again after losing a deadlock, a serialization
/// failure, a unique key to a concurrent writer or the connection.
const RETRIES: usize = 3;

/// How long dropping a client waits for it to say goodbye to the server.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

impl ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match (self, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Int(value), &Type::INT4) => i32::try_from(*value)?.to_sql(ty, out),
            (Value::Int(value), &Type::FLOAT8) => (*value as f64).to_sql(ty, out),
            (Value::Int(value), _) => value.to_sql(ty, out),
            (Value::Real(value), _) => value.to_sql(ty, out),
            (Value::Text(value), _) => value.as_ref().to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT4 | Type::INT8 | Type::FLOAT8 | Type::TEXT | Type::VARCHAR
        )
    }

    to_sql_checked!();
}

/// A connection (made again when lost) and the statements it has prepared.
pub struct Postgres {
    /// The parsed connection string (password included: never shown).
    config: Config,
    client: Option<Client>,
    /// Statements prepared on the current connection (each once).
    statements: HashMap<String, Statement>,
    /// Whether the last failure lost the connection.
    lost: bool,
    backoff: Backoff,
}

/// Connects to the database `url` names (`postgres://user:password@host:port/dbname`, a
/// Unix socket directory as `host`, or libpq's `key=value` form). The password is never
/// logged or put in an error.
pub fn connect(url: &str) -> Result<Postgres, StoreError> {
    // A string the client cannot read is the setting's fault, not an outage: never retried,
    // and never repeated (it may hold a password).
    let mut config: Config = url.parse().map_err(|error: postgres::Error| {
        StoreError::Invalid(crate::types::monitor::invalid(
            "MONITOR_DATABASE",
            None,
            format!(
                "MONITOR_DATABASE is not a connection string the PostgreSQL client can use: {}",
                redact_parse_error(&error.to_string(), url)
            ),
        ))
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let client = config.connect(NoTls)?;
    Ok(Postgres {
        config,
        client: Some(client),
        statements: HashMap::new(),
        lost: false,
        backoff: Backoff::default(),
    })
}

/// A connection-string parse error without anything of the string itself: kept only when
/// it quotes nothing of it (the client's messages name options, such as "invalid value for
/// option `port`").
fn redact_parse_error(message: &str, url: &str) -> String {
    let quotes_the_string = url
        .split([' ', '=', '&', '?', '/', ':', '@', '\''])
        .filter(|part| part.len() >= 3)
        .any(|part| message.contains(part));
    if quotes_the_string {
        "its form is invalid".to_string()
    } else {
        message.to_string()
    }
}

/// Whether `error` means the connection is gone (closed, broken, or the server going down).
fn is_lost(error: &postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    if let Some(db) = error.as_db_error() {
        let code = db.code().code();
        // Connection exceptions; the server shut down, crashed or not accepting yet.
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03");
    }
    error
        .source()
        .is_some_and(|source| source.is::<std::io::Error>())
}

impl Postgres {
    /// The live client: the current one, or a new connection when it was lost and the next
    /// attempt is due.
    fn client(&mut self) -> Result<&mut Client, StoreError> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.discard();
        }
        if self.client.is_none() {
            if let Some(refusal) = self.backoff.waiting() {
                return Err(refusal);
            }
            match self.config.connect(NoTls) {
                Ok(client) => {
                    let failures = self.backoff.succeeded();
                    tracing::info!(failures, "monitor database connection made again");
                    self.client = Some(client);
                }
                Err(error) => {
                    let reason =
                        format!("cannot connect to PostgreSQL: {}", StoreError::from(error));
                    let refusal = self.backoff.failed(reason);
                    tracing::warn!(error = %refusal, "monitor database unreachable");
                    return Err(refusal);
                }
            }
        }
        self.lost = false;
        Ok(self.client.as_mut().expect("connected above"))
    }

    /// Drops the current connection (it was lost); the next transaction connects again.
    fn discard(&mut self) {
        self.statements.clear();
        if let Some(client) = self.client.take() {
            close(client);
        }
    }

    /// Starts a transaction. A connection found dead here (nothing sent on it yet) is made
    /// again at once.
    pub fn transaction(&mut self) -> Result<PgTx<'_>, StoreError> {
        if let Err(error) = self.client()?.batch_execute("BEGIN") {
            if !is_lost(&error) {
                return Err(error.into());
            }
            tracing::info!(%error, "monitor database connection lost; connecting again");
            self.discard();
            if let Err(error) = self.client()?.batch_execute("BEGIN") {
                self.lost = is_lost(&error);
                return Err(self.settle(error.into()));
            }
        }
        Ok(PgTx {
            client: self.client.as_mut().expect("connected above"),
            statements: &mut self.statements,
            lost: &mut self.lost,
            open: true,
        })
    }

    /// A failed transaction's error as it is answered: when the connection was lost, it is
    /// dropped and the failure is "unavailable" (ask again soon).
    fn settle(&mut self, error: StoreError) -> StoreError {
        if !self.lost || matches!(error, StoreError::Unavailable { .. }) {
            return error;
        }
        self.discard();
        StoreError::Unavailable {
            reason: format!("the connection to PostgreSQL was lost: {error}"),
            retry_after: super::backoff::FIRST_DELAY,
        }
    }

    /// Runs `body` in a transaction, committed when it returns `Ok`; tried again (from the
    /// start) after a deadlock, a serialization failure, a unique key taken by a concurrent
    /// writer in between (the retry then sees that row), or a lost connection (every write
    /// of the store is idempotent: events and exposures by their keys).
    pub fn write<R>(
        &mut self,
        mut body: impl FnMut(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut attempt = 0;
        loop {
            let outcome = self.transaction().and_then(|mut tx| {
                let result = body(&mut tx)?;
                tx.commit()?;
                Ok(result)
            });
            let error = match outcome {
                Ok(result) => return Ok(result),
                Err(error) => error,
            };
            let lost = self.lost;
            let error = self.settle(error);
            let again = lost || is_transient(&error);
            if !again || attempt >= RETRIES || self.backoff.waiting().is_some() {
                return Err(error);
            }
            attempt += 1;
            tracing::debug!(attempt, %error, "transaction tried again");
        }
    }

    /// Runs `body` in a read transaction (one consistent snapshot).
    pub fn read<R>(
        &mut self,
        body: impl FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let outcome = self.transaction().and_then(|mut tx| {
            let result = body(&mut tx)?;
            tx.commit()?;
            Ok(result)
        });
        outcome.map_err(|error| self.settle(error))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.statements.clear();
        if let Some(client) = self.client.take() {
            close(client);
        }
    }
}

/// Drops `client`. Its drop says goodbye to the server on the client's own runtime, which
/// panics (aborting the process) on a thread that drives or belongs to another runtime: there
/// it is dropped on a thread of its own, waited for at most [`CLOSE_WAIT`].
pub fn close(client: Client) {
    if tokio::runtime::Handle::try_current().is_err() {
        drop(client);
        return;
    }
    let (hand, take) = std::sync::mpsc::channel::<Client>();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("monitor-db-close".into())
        .spawn(move || {
            if let Ok(client) = take.recv() {
                drop(client);
            }
            let _ = done.send(());
        });
    match spawned {
        Ok(_) => match hand.send(client) {
            Ok(()) => {
                if finished.recv_timeout(CLOSE_WAIT).is_err() {
                    tracing::warn!(
                        "closing the monitor database connection takes long; left to finish"
                    );
                }
            }
            // The thread is gone: never drop the client here.
            Err(std::sync::mpsc::SendError(client)) => std::mem::forget(client),
        },
        Err(error) => {
            tracing::warn!(%error, "no thread to close the monitor database connection; left open");
            std::mem::forget(client);
        }
    }
}

/// A PostgreSQL transaction with the connection's prepared statements; rolled back when
/// dropped uncommitted.
pub struct PgTx<'a> {
    client: &'a mut Client,
    statements: &'a mut HashMap<String, Statement>,
    /// Set when a statement finds the connection gone.
    lost: &'a mut bool,
    open: bool,
}

impl PgTx<'_> {
    /// Commits.
    pub fn commit(mut self) -> Result<(), StoreError> {
        self.open = false;
        let outcome = self.client.batch_execute("COMMIT");
        outcome.map_err(|error| self.failed(error))
    }

    /// `error` as a store error, noting whether the connection is gone.
    fn failed(&mut self, error: postgres::Error) -> StoreError {
        if is_lost(&error) {
            *self.lost = true;
        }
        error.into()
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let prepared = self.client.prepare(sql);
        let statement = prepared.map_err(|error| self.failed(error))?;
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        if self.open && !*self.lost {
            let _ = self.client.batch_execute("ROLLBACK");
        }
    }
}

struct PgRow<'a>(&'a postgres::Row);

impl Row for PgRow<'_> {
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        Ok(self.0.try_get(i)?)
    }
    fn real(&self, i: usize) -> Result<f64, StoreError> {
        Ok(self.0.try_get(i)?)
    }
    fn opt_real(&self, i: usize) -> Result<Option<f64>, StoreError> {
        Ok(self.0.try_get(i)?)
    }
    fn text(&self, i: usize) -> Result<String, StoreError> {
        Ok(self.0.try_get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        Ok(self.0.try_get(i)?)
    }
}

fn refs<'a>(params: &'a [Value<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params
        .iter()
        .map(|value| value as &(dyn ToSql + Sync))
        .collect()
}

impl Tx for PgTx<'_> {
    fn is_postgres(&self) -> bool {
        true
    }

    fn execute(&mut self, sql: &str, params: &[Value<'_>]) -> Result<u64, StoreError> {
        let statement = self.statement(sql)?;
        let outcome = self.client.execute(&statement, &refs(params));
        outcome.map_err(|error| self.failed(error))
    }

    fn query(
        &mut self,
        sql: &str,
        params: &[Value<'_>],
        each: &mut dyn FnMut(&dyn Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        use postgres::fallible_iterator::FallibleIterator;
        let statement = self.statement(sql)?;
        let mut lost = false;
        let outcome = (|| {
            let mut rows = self
                .client
                .query_raw(&statement, params.iter())
                .inspect_err(|error| lost = is_lost(error))?;
            while let Some(row) = rows.next().inspect_err(|error| lost = is_lost(error))? {
                each(&PgRow(&row))?;
            }
            Ok(())
        })();
        *self.lost |= lost;
        outcome
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        let outcome = self.client.batch_execute(sql);
        outcome.map_err(|error| self.failed(error))
    }
}

/// Whether a failure is worth retrying the whole transaction: a deadlock or a serialization
/// failure between two writers, or a unique key another writer took between this
/// transaction's read and its insert (the retry reads that row).
pub fn is_transient(error: &StoreError) -> bool {
    matches!(error, StoreError::Database(message)
        if ["(40P01)", "(40001)", "(23505)"].iter().any(|code| message.ends_with(code)))
}
