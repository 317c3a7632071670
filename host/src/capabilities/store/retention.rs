//! Retention: removing events, exposures and per-day totals older than the first kept day,
//! so that no figure counts a removed event.

use super::sql::{StoreError, Tx, Value};
use super::tables::FEEDBACK_ROLLUP;

/// What a prune removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    /// Decisions removed.
    pub decisions: u64,
    /// Feedback removed.
    pub feedback: u64,
    /// Experiment exposures removed.
    pub exposures: u64,
}

/// Removes events, exposures and per-day totals of days before `first_kept_day`. Feedback goes
/// with its decision: feedback of a removed decision is removed whatever its own day, and the
/// per-day totals of the days it was counted in (kept days) are counted again from the
/// feedback that stays, so no figure counts a removed event.
pub fn prune(tx: &mut dyn Tx, first_kept_day: i64) -> Result<Pruned, StoreError> {
    let day = [Value::Int(first_kept_day)];
    // Kept days whose totals count feedback of a decision about to be removed.
    let mut recount = Vec::new();
    tx.query(
        "SELECT DISTINCT day FROM feedback WHERE decision_day < $1 AND day >= $1",
        &day,
        &mut |row| {
            recount.push(row.int(0)?);
            Ok(())
        },
    )?;
    let feedback = tx.execute(
        "DELETE FROM feedback WHERE day < $1 OR decision_day < $1",
        &day,
    )?;
    let exposures = tx.execute(
        "DELETE FROM exposures WHERE exposed_at_ms < $1",
        &[Value::Int(first_kept_day.saturating_mul(86_400_000))],
    )?;
    let decisions = tx.execute("DELETE FROM decisions WHERE day < $1", &day)?;
    for table in ["decision_rollup", "feedback_rollup"] {
        tx.execute(&format!("DELETE FROM {table} WHERE day < $1"), &day)?;
    }
    for kept in recount {
        let key = [Value::Int(kept)];
        tx.execute("DELETE FROM feedback_rollup WHERE day = $1", &key)?;
        tx.execute(
            &format!(
                "INSERT INTO {FEEDBACK_ROLLUP} SELECT day, algorithm_version, feedback_type, \
                 COUNT(*), COUNT(feedback_value), COALESCE(SUM(feedback_value), 0) \
                 FROM feedback WHERE day = $1 GROUP BY day, algorithm_version, feedback_type"
            ),
            &key,
        )?;
    }
    Ok(Pruned {
        decisions,
        feedback,
        exposures,
    })
}
