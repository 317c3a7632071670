//! Experiments in the event store: definitions (JSON), exposures (once per unit and variation)
//! and the per-variation sums the analysis reads, aggregated in SQL from the monitor's events
//! (per unit first, then per variation: never a list that grows with the units).

use super::sql::{Row, StoreError, Tx, Value};
use crate::types::experiments::{Arm, MetricSums, Quantity, Sums};

/// A stored definition: its JSON and when it was created and last changed (ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDefinition {
    /// The definition as JSON.
    pub json: String,
    /// First stored.
    pub created_at_ms: i64,
    /// Last changed.
    pub updated_at_ms: i64,
}

fn stored(row: &dyn Row) -> Result<StoredDefinition, StoreError> {
    Ok(StoredDefinition {
        json: row.text(0)?,
        created_at_ms: row.int(1)?,
        updated_at_ms: row.int(2)?,
    })
}

/// The definition of `test_id`.
pub fn get(tx: &mut dyn Tx, test_id: &str) -> Result<Option<StoredDefinition>, StoreError> {
    let mut found = None;
    tx.query(
        "SELECT definition, created_at_ms, updated_at_ms FROM experiments WHERE test_id = $1",
        &[Value::from(test_id)],
        &mut |row| {
            found = Some(stored(row)?);
            Ok(())
        },
    )?;
    Ok(found)
}

/// Every definition, by key.
pub fn list(tx: &mut dyn Tx) -> Result<Vec<StoredDefinition>, StoreError> {
    let mut all = Vec::new();
    tx.query(
        "SELECT definition, created_at_ms, updated_at_ms FROM experiments ORDER BY test_id",
        &[],
        &mut |row| {
            all.push(stored(row)?);
            Ok(())
        },
    )?;
    Ok(all)
}

/// Stores a new definition.
pub fn insert(tx: &mut dyn Tx, test_id: &str, json: &str, now_ms: i64) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO experiments (test_id, definition, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $3)",
        &[Value::from(test_id), Value::from(json), Value::Int(now_ms)],
    )?;
    Ok(())
}

/// Replaces a definition (its exposures stay).
pub fn update(tx: &mut dyn Tx, test_id: &str, json: &str, now_ms: i64) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE experiments SET definition = $1, updated_at_ms = $2 WHERE test_id = $3",
        &[Value::from(json), Value::Int(now_ms), Value::from(test_id)],
    )?;
    Ok(())
}

/// Exposures per statement: four parameters each, well under SQLite's and PostgreSQL's
/// limits on parameters.
const EXPOSURES_PER_INSERT: usize = 256;

/// Logs the exposure of each `(unit, variation)` of `test_id` at `now_ms` unless that unit
/// already has one for that variation (the first exposure is kept); returns how many were
/// new. A unit named twice is logged once.
pub fn expose(
    tx: &mut dyn Tx,
    test_id: &str,
    exposed: &[(&str, u32)],
    now_ms: i64,
) -> Result<u64, StoreError> {
    let mut inserted = 0;
    for chunk in exposed.chunks(EXPOSURES_PER_INSERT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|row| {
                let first = row * 4 + 1;
                format!("(${first}, ${}, ${}, ${})", first + 1, first + 2, first + 3)
            })
            .collect();
        let sql = format!(
            "INSERT INTO exposures (test_id, unit, variation, exposed_at_ms) VALUES {} \
             ON CONFLICT (test_id, unit, variation) DO NOTHING",
            rows.join(", ")
        );
        let mut params = Vec::with_capacity(chunk.len() * 4);
        for (unit, variation) in chunk {
            params.extend([
                Value::from(test_id),
                Value::from(*unit),
                Value::Int(i64::from(*variation)),
                Value::Int(now_ms),
            ]);
        }
        inserted += tx.execute(&sql, &params)?;
    }
    Ok(inserted)
}

/// Whether `test_id` has any exposure.
pub fn has_exposures(tx: &mut dyn Tx, test_id: &str) -> Result<bool, StoreError> {
    let mut any = false;
    tx.query(
        "SELECT 1 FROM exposures WHERE test_id = $1 LIMIT 1",
        &[Value::from(test_id)],
        &mut |_| {
            any = true;
            Ok(())
        },
    )?;
    Ok(any)
}

/// Units exposed to more than one variation of `test_id`.
pub fn multi_exposed(tx: &mut dyn Tx, test_id: &str) -> Result<u64, StoreError> {
    let mut count = 0;
    tx.query(
        "SELECT COUNT(*) FROM (SELECT unit FROM exposures WHERE test_id = $1 \
         GROUP BY unit HAVING COUNT(*) > 1) AS several",
        &[Value::from(test_id)],
        &mut |row| {
            count = u64::try_from(row.int(0)?).unwrap_or(0);
            Ok(())
        },
    )?;
    Ok(count)
}

/// A quantity as a column expression over `per_unit` below.
fn column(quantity: Quantity) -> &'static str {
    match quantity {
        Quantity::Decisions => "decisions",
        Quantity::ProcessingMs => "processing_ms",
        Quantity::Likes => "likes",
        Quantity::Dislikes => "dislikes",
        Quantity::Skips => "skips",
        Quantity::Uses => "uses",
        Quantity::Ratings => "ratings",
        Quantity::RatingSum => "rating_sum",
        Quantity::Satisfied => "(likes + uses + (rating_sum - ratings) / 4)",
        Quantity::Judged => "(likes + uses + dislikes + skips + ratings)",
    }
}

/// Each exposed unit's quantities, from its decisions from a minute before its first exposure
/// (clients' clocks and the decision that followed the assignment) to `$2` (the end), and
/// their feedback; units exposed to several variations, or first after the end, left out.
/// Public for the benchmark's peer, which fetches these rows instead of their sums.
pub const PER_UNIT: &str = include_str!("../../../sql/experiments_per_unit.sql");

/// Per variation (`variations` of them): units and, per metric `(numerator, denominator)`,
/// the sums the analysis reads.
pub fn arms(
    tx: &mut dyn Tx,
    test_id: &str,
    end_ms: i64,
    variations: usize,
    metrics: &[(Quantity, Option<Quantity>)],
) -> Result<Vec<Arm>, StoreError> {
    let mut select = vec!["variation".to_string(), "COUNT(*)".to_string()];
    for (numerator, denominator) in metrics {
        let x = column(*numerator);
        select.push(format!("SUM({x})"));
        select.push(format!("SUM({x} * {x})"));
        if let Some(denominator) = denominator {
            let y = column(*denominator);
            select.push(format!("SUM({y})"));
            select.push(format!("SUM({y} * {y})"));
            select.push(format!("SUM({x} * {y})"));
        }
    }
    let sql = format!(
        "{PER_UNIT} SELECT {} FROM per_unit GROUP BY variation ORDER BY variation",
        select.join(", ")
    );
    let empty = Arm {
        units: 0,
        metrics: metrics
            .iter()
            .map(|(_, denominator)| MetricSums {
                denominator: denominator.map(|_| Sums::default()),
                ..MetricSums::default()
            })
            .collect(),
    };
    let mut arms = vec![empty; variations];
    tx.query(
        &sql,
        &[Value::from(test_id), Value::Int(end_ms)],
        &mut |row| {
            let Some(arm) = usize::try_from(row.int(0)?)
                .ok()
                .and_then(|index| arms.get_mut(index))
            else {
                // A variation the definition no longer has.
                return Ok(());
            };
            arm.units = u64::try_from(row.int(1)?).unwrap_or(0);
            let mut at = 2;
            let mut next = |row: &dyn Row| -> Result<f64, StoreError> {
                at += 1;
                Ok(row.opt_real(at - 1)?.unwrap_or(0.0))
            };
            for ((_, denominator), sums) in metrics.iter().zip(&mut arm.metrics) {
                sums.numerator = Sums {
                    sum: next(row)?,
                    sum_squares: next(row)?,
                };
                if denominator.is_some() {
                    sums.denominator = Some(Sums {
                        sum: next(row)?,
                        sum_squares: next(row)?,
                    });
                    sums.sum_products = next(row)?;
                }
            }
            Ok(())
        },
    )?;
    Ok(arms)
}
