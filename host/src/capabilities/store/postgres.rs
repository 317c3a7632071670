//! PostgreSQL: a fleet of hosts writing to one database.

use std::collections::HashMap;
use std::error::Error as StdError;

use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement, Transaction};

use super::sql::{Row, StoreError, Tx, Value};

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

/// A client and the statements it has prepared (each is prepared once per connection).
pub struct Postgres {
    client: Client,
    statements: HashMap<String, Statement>,
}

/// Connects to the database at `url` (`postgres://user:password@host:port/dbname`, or a
/// Unix socket directory as `host`). The URL's password is never logged.
pub fn connect(url: &str) -> Result<Postgres, StoreError> {
    let client = Client::connect(url, NoTls)?;
    Ok(Postgres {
        client,
        statements: HashMap::new(),
    })
}

impl Postgres {
    /// Starts a transaction.
    pub fn transaction(&mut self) -> Result<PgTx<'_>, StoreError> {
        Ok(PgTx {
            tx: self.client.transaction()?,
            statements: &mut self.statements,
        })
    }
}

/// A PostgreSQL transaction with the connection's prepared statements.
pub struct PgTx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut HashMap<String, Statement>,
}

impl PgTx<'_> {
    /// Commits.
    pub fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit()?)
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(sql)?;
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
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
        Ok(self.tx.execute(&statement, &refs(params))?)
    }

    fn query(
        &mut self,
        sql: &str,
        params: &[Value<'_>],
        each: &mut dyn FnMut(&dyn Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        use postgres::fallible_iterator::FallibleIterator;
        let statement = self.statement(sql)?;
        let mut rows = self.tx.query_raw(&statement, params.iter())?;
        while let Some(row) = rows.next()? {
            each(&PgRow(&row))?;
        }
        Ok(())
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.tx.batch_execute(sql)?)
    }
}

/// Whether a failure is worth retrying the whole transaction (a deadlock or a serialization
/// failure between two writers).
pub fn is_transient(error: &StoreError) -> bool {
    matches!(error, StoreError::Database(message) if message.ends_with("(40P01)") || message.ends_with("(40001)"))
}
