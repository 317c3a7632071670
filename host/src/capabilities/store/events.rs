//! Writing events: each decision or feedback once (a retry with the same id writes nothing),
//! with the per-day totals it adds to, in one transaction per batch.

use std::collections::BTreeMap;

use super::histogram::{Histogram, MoveCounts};
use super::repeats::{check_repeats, decision_content, feedback_content};
use super::sql::{StoreError, Tx, Value};
use super::tables::{FEEDBACK_ROLLUP, ROWS_PER_STATEMENT, json};
use crate::types::monitor::{Decision, Feedback, Logged, Refusal};

/// The day number (days since 1970-01-01, UTC) of a time in milliseconds.
pub fn day_of(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(86_400_000)
}

/// A decision's mean score, when it has scores.
fn mean_score(decision: &Decision) -> Option<f64> {
    let scores = &decision.recommendation_scores;
    (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
}

/// What a batch adds to one day and version.
#[derive(Default)]
struct DayDelta {
    decisions: i64,
    sum: f64,
    scored: i64,
    score_sum: f64,
    latency: Histogram,
    moves: MoveCounts,
}

/// `($1, $2, $3), ($4, $5, $6)` for `rows` rows of `columns` parameters.
fn values(rows: usize, columns: usize) -> String {
    let mut text = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        if row > 0 {
            text.push_str(", ");
        }
        text.push('(');
        for column in 0..columns {
            if column > 0 {
                text.push_str(", ");
            }
            text.push('$');
            text.push_str(&(row * columns + column + 1).to_string());
        }
        text.push(')');
    }
    text
}

/// Runs `INSERT INTO {head} VALUES … {tail}` over `rows`, in statements of a power of two
/// rows (at most [`ROWS_PER_STATEMENT`]); `each` gets the rows a statement's `RETURNING`
/// answers.
fn insert_rows(
    tx: &mut dyn Tx,
    head: &str,
    tail: &str,
    columns: usize,
    rows: Vec<Vec<Value>>,
    each: &mut dyn FnMut(&dyn super::sql::Row) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut rows = rows.into_iter();
    loop {
        let left = rows.len();
        if left == 0 {
            return Ok(());
        }
        // The largest power of two not above what is left.
        let size = ROWS_PER_STATEMENT.min(1 << left.ilog2());
        let sql = format!("INSERT INTO {head} VALUES {} {tail}", values(size, columns));
        let params: Vec<Value> = rows.by_ref().take(size).flatten().collect();
        tx.query(&sql, &params, each)?;
    }
}

const DECISIONS: &str = "decisions (decision_id, ts_ms, day, user_id, input_song, \
     recommended_moves, recommendation_scores, move_count, algorithm_version, weights_used, \
     processing_time_ms, song_features, experiment_id, variation)";

fn no_rows(_: &dyn super::sql::Row) -> Result<(), StoreError> {
    Ok(())
}

/// Writes a batch of decisions in a few multi-row statements (rows in id order, so two
/// writers lock in one order); says for each, in the order given, whether it was new. A
/// decision already stored (or repeated in the batch) is written once and counted once.
pub fn insert_decisions(
    tx: &mut dyn Tx,
    decisions: &[Decision],
) -> Result<Vec<Logged>, StoreError> {
    let mut order: Vec<usize> = (0..decisions.len()).collect();
    order.sort_by(|&a, &b| decisions[a].decision_id.cmp(&decisions[b].decision_id));
    let rows = order
        .iter()
        .map(|&index| {
            let decision = &decisions[index];
            let ts_ms = decision.timestamp.timestamp_millis();
            vec![
                Value::from(decision.decision_id.as_str()),
                Value::Int(ts_ms),
                Value::Int(day_of(ts_ms)),
                Value::from(decision.user_id.as_deref()),
                Value::from(decision.input_song.as_str()),
                Value::from(json(&decision.recommended_moves)),
                Value::from(json(&decision.recommendation_scores)),
                Value::Int(decision.recommended_moves.len() as i64),
                Value::from(decision.algorithm_version.as_str()),
                Value::from(json(&decision.weights_used)),
                Value::Real(decision.processing_time_ms),
                Value::from(json(&decision.song_features)),
                Value::from(decision.experiment_id.as_deref()),
                Value::from(decision.variation.as_deref()),
            ]
        })
        .collect();
    let mut inserted: std::collections::HashSet<String> = std::collections::HashSet::new();
    insert_rows(
        tx,
        DECISIONS,
        "ON CONFLICT (decision_id) DO NOTHING RETURNING decision_id",
        14,
        rows,
        &mut |row| {
            inserted.insert(row.text(0)?);
            Ok(())
        },
    )?;
    let content = |index: usize| decision_content(&decisions[index]);
    check_repeats(
        tx,
        "decision_id",
        "SELECT decision_id, user_id, input_song, recommended_moves, recommendation_scores, \
         algorithm_version, weights_used, processing_time_ms, song_features, experiment_id, \
         variation FROM decisions WHERE decision_id IN",
        &order,
        &|index| decisions[index].decision_id.as_str(),
        &content,
        &inserted,
    )?;
    let mut stored = vec![false; decisions.len()];
    let mut days: BTreeMap<(i64, &str), DayDelta> = BTreeMap::new();
    for &index in &order {
        let decision = &decisions[index];
        // Each id inserted is counted at its first place in the batch only.
        if !inserted.remove(&decision.decision_id) {
            continue;
        }
        stored[index] = true;
        let day = day_of(decision.timestamp.timestamp_millis());
        let version = decision.algorithm_version.as_str();
        let delta = days.entry((day, version)).or_default();
        delta.decisions += 1;
        delta.sum += decision.processing_time_ms;
        delta.latency.add(decision.processing_time_ms);
        if let Some(mean) = mean_score(decision) {
            delta.scored += 1;
            delta.score_sum += mean;
        }
        delta.moves.add(&decision.recommended_moves);
    }
    for ((day, version), delta) in days {
        add_to_day(tx, day, version, &delta)?;
    }
    Ok(decisions
        .iter()
        .zip(stored)
        .map(|(decision, stored)| Logged {
            id: decision.decision_id.clone(),
            stored,
        })
        .collect())
}

/// Adds a batch's decisions to the totals of their day and version: the row is created when
/// missing, then read (locked, on PostgreSQL), merged and written back, inside the batch's
/// transaction.
fn add_to_day(
    tx: &mut dyn Tx,
    day: i64,
    version: &str,
    delta: &DayDelta,
) -> Result<(), StoreError> {
    let key = [Value::Int(day), Value::from(version)];
    tx.execute(
        "INSERT INTO decision_rollup (day, algorithm_version, decisions, processing_ms_sum, \
         scored, score_sum, latency, moves) VALUES ($1, $2, 0, 0, 0, 0, '[]', '[]') \
         ON CONFLICT (day, algorithm_version) DO NOTHING",
        &key,
    )?;
    let select = if tx.is_postgres() {
        "SELECT decisions, processing_ms_sum, scored, score_sum, latency, moves \
         FROM decision_rollup WHERE day = $1 AND algorithm_version = $2 FOR UPDATE"
    } else {
        "SELECT decisions, processing_ms_sum, scored, score_sum, latency, moves \
         FROM decision_rollup WHERE day = $1 AND algorithm_version = $2"
    };
    let mut current = None;
    tx.query(select, &key, &mut |row| {
        current = Some((
            row.int(0)?,
            row.real(1)?,
            row.int(2)?,
            row.real(3)?,
            row.text(4)?,
            row.text(5)?,
        ));
        Ok(())
    })?;
    let (decisions, sum, scored, score_sum, latency, moves) = current.ok_or_else(|| {
        StoreError::Database("the day's totals vanished inside the transaction".to_string())
    })?;
    let mut histogram = Histogram::decode(&latency)?;
    histogram.merge(&delta.latency);
    let mut counts = MoveCounts::decode(&moves)?;
    counts.merge(&delta.moves);
    tx.execute(
        "UPDATE decision_rollup SET decisions = $1, processing_ms_sum = $2, scored = $3, \
         score_sum = $4, latency = $5, moves = $6 WHERE day = $7 AND algorithm_version = $8",
        &[
            Value::Int(decisions + delta.decisions),
            Value::Real(sum + delta.sum),
            Value::Int(scored + delta.scored),
            Value::Real(score_sum + delta.score_sum),
            Value::from(histogram.encode()),
            Value::from(counts.encode()),
            Value::Int(day),
            Value::from(version),
        ],
    )?;
    Ok(())
}

const FEEDBACK: &str = "feedback (feedback_id, decision_id, ts_ms, day, user_id, feedback_type, \
     feedback_value, move_id, comments, decision_day, algorithm_version, move_count, move_rank)";

const FEEDBACK_ROLLUP_UPDATE: &str = "ON CONFLICT (day, algorithm_version, feedback_type) \
     DO UPDATE SET \
     events = feedback_rollup.events + excluded.events, \
     valued = feedback_rollup.valued + excluded.valued, \
     value_sum = feedback_rollup.value_sum + excluded.value_sum";

/// What feedback needs of its decision.
struct Parent {
    day: i64,
    version: String,
    moves: Vec<String>,
}

/// The stored decisions `ids` name, read in statements of at most [`ROWS_PER_STATEMENT`] ids.
fn parents(
    tx: &mut dyn Tx,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, Parent>, StoreError> {
    let mut found = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT decision_id, day, algorithm_version, recommended_moves FROM decisions \
             WHERE decision_id IN ({})",
            placeholders.join(", ")
        );
        let params: Vec<Value> = chunk.iter().map(|id| Value::from(*id)).collect();
        tx.query(&sql, &params, &mut |row| {
            let moves = serde_json::from_str(&row.text(3)?).map_err(|error| {
                StoreError::Database(format!("stored moves are not JSON: {error}"))
            })?;
            found.insert(
                row.text(0)?,
                Parent {
                    day: row.int(1)?,
                    version: row.text(2)?,
                    moves,
                },
            );
            Ok(())
        })?;
    }
    Ok(found)
}

/// Writes a batch of feedback; each must name a stored decision and, when it names a move, one
/// of that decision's moves. One that does not fails the batch and nothing is written.
/// `batch` says whether errors name the event's index.
pub fn insert_feedback(
    tx: &mut dyn Tx,
    feedback: &[Feedback],
    batch: bool,
) -> Result<Vec<Logged>, StoreError> {
    let refused = |refusal, index| StoreError::Refused {
        refusal,
        index: batch.then_some(index),
    };
    let mut ids: Vec<&str> = feedback
        .iter()
        .map(|event| event.decision_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let parents = parents(tx, &ids)?;
    let mut ranks = Vec::with_capacity(feedback.len());
    for (index, event) in feedback.iter().enumerate() {
        let Some(decision) = parents.get(&event.decision_id) else {
            return Err(refused(
                Refusal::UnknownDecision(event.decision_id.clone()),
                index,
            ));
        };
        ranks.push(match &event.move_id {
            None => 0,
            Some(id) => match decision.moves.iter().position(|m| m == id) {
                Some(position) => position as i64 + 1,
                None => {
                    return Err(refused(
                        Refusal::UnknownMove {
                            decision_id: event.decision_id.clone(),
                            move_id: id.clone(),
                        },
                        index,
                    ));
                }
            },
        });
    }
    let mut order: Vec<usize> = (0..feedback.len()).collect();
    order.sort_by(|&a, &b| feedback[a].feedback_id.cmp(&feedback[b].feedback_id));
    let rows = order
        .iter()
        .map(|&index| {
            let event = &feedback[index];
            let decision = &parents[&event.decision_id];
            let ts_ms = event.timestamp.timestamp_millis();
            vec![
                Value::from(event.feedback_id.as_str()),
                Value::from(event.decision_id.as_str()),
                Value::Int(ts_ms),
                Value::Int(day_of(ts_ms)),
                Value::from(event.user_id.as_deref()),
                Value::from(event.feedback_type.as_str()),
                Value::from(event.feedback_value),
                Value::from(event.move_id.as_deref()),
                Value::from(event.comments.as_deref()),
                Value::Int(decision.day),
                Value::from(decision.version.as_str()),
                Value::Int(decision.moves.len() as i64),
                Value::Int(ranks[index]),
            ]
        })
        .collect();
    let mut inserted: std::collections::HashSet<String> = std::collections::HashSet::new();
    insert_rows(
        tx,
        FEEDBACK,
        "ON CONFLICT (feedback_id) DO NOTHING RETURNING feedback_id",
        13,
        rows,
        &mut |row| {
            inserted.insert(row.text(0)?);
            Ok(())
        },
    )?;
    let content = |index: usize| feedback_content(&feedback[index]);
    check_repeats(
        tx,
        "feedback_id",
        "SELECT feedback_id, decision_id, user_id, feedback_type, feedback_value, move_id, \
         comments FROM feedback WHERE feedback_id IN",
        &order,
        &|index| feedback[index].feedback_id.as_str(),
        &content,
        &inserted,
    )?;
    let mut stored = vec![false; feedback.len()];
    let mut rollup: BTreeMap<(i64, &str, &str), (i64, i64, f64)> = BTreeMap::new();
    for &index in &order {
        let event = &feedback[index];
        if !inserted.remove(&event.feedback_id) {
            continue;
        }
        stored[index] = true;
        let decision = &parents[&event.decision_id];
        let day = day_of(event.timestamp.timestamp_millis());
        let entry = rollup
            .entry((day, decision.version.as_str(), event.feedback_type.as_str()))
            .or_default();
        entry.0 += 1;
        if let Some(value) = event.feedback_value {
            entry.1 += 1;
            entry.2 += value;
        }
    }
    let rollup_rows = rollup
        .into_iter()
        .map(|((day, version, kind), (events, valued, value_sum))| {
            vec![
                Value::Int(day),
                Value::from(version),
                Value::from(kind),
                Value::Int(events),
                Value::Int(valued),
                Value::Real(value_sum),
            ]
        })
        .collect();
    insert_rows(
        tx,
        FEEDBACK_ROLLUP,
        FEEDBACK_ROLLUP_UPDATE,
        6,
        rollup_rows,
        &mut no_rows,
    )?;
    Ok(feedback
        .iter()
        .zip(stored)
        .map(|(event, stored)| Logged {
            id: event.feedback_id.clone(),
            stored,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_number_parameters_row_by_row() {
        assert_eq!(values(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values(1, 1), "($1)");
    }

    #[test]
    fn days_are_utc() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(86_399_999), 0);
        assert_eq!(day_of(86_400_000), 1);
    }
}
