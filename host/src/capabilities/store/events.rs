//! Writing events: each decision or feedback once (a retry with the same id writes nothing),
//! with the per-day totals it adds to, in one transaction per batch.

use std::collections::BTreeMap;

use super::sql::{StoreError, Tx, Value};
use crate::types::monitor::{Decision, Feedback, Logged, in_batch, invalid};

/// The day number (days since 1970-01-01, UTC) of a time in milliseconds.
pub fn day_of(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(86_400_000)
}

/// The histogram bucket of a processing time: the sign, exponent and top 7 mantissa bits of
/// the double, so a bucket is under 0.8 % wide and buckets sort as the times do (times are
/// never negative).
pub fn latency_bucket(ms: f64) -> i64 {
    (ms.max(0.0).to_bits() >> 45) as i64
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}

/// A decision's mean score, when it has scores.
fn mean_score(decision: &Decision) -> Option<f64> {
    let scores = &decision.recommendation_scores;
    (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
}

/// Totals of a batch for one (day, version, bucket).
#[derive(Default)]
struct DecisionDelta {
    decisions: i64,
    sum: f64,
    min: f64,
    max: f64,
    scored: i64,
    score_sum: f64,
}

const INSERT_DECISION: &str = "INSERT INTO decisions (decision_id, ts_ms, day, user_id, input_song, \
     recommended_moves, recommendation_scores, move_count, algorithm_version, weights_used, \
     processing_time_ms, song_features, experiment_id, variation) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
     ON CONFLICT (decision_id) DO NOTHING";

const UPSERT_DECISION_ROLLUP: &str = "INSERT INTO decision_rollup (day, algorithm_version, \
     latency_bucket, decisions, processing_ms_sum, processing_ms_min, processing_ms_max, scored, \
     score_sum) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (day, algorithm_version, latency_bucket) DO UPDATE SET \
     decisions = decision_rollup.decisions + excluded.decisions, \
     processing_ms_sum = decision_rollup.processing_ms_sum + excluded.processing_ms_sum, \
     processing_ms_min = CASE WHEN excluded.processing_ms_min < decision_rollup.processing_ms_min \
         THEN excluded.processing_ms_min ELSE decision_rollup.processing_ms_min END, \
     processing_ms_max = CASE WHEN excluded.processing_ms_max > decision_rollup.processing_ms_max \
         THEN excluded.processing_ms_max ELSE decision_rollup.processing_ms_max END, \
     scored = decision_rollup.scored + excluded.scored, \
     score_sum = decision_rollup.score_sum + excluded.score_sum";

const UPSERT_MOVE_ROLLUP: &str = "INSERT INTO move_rollup (day, algorithm_version, move_id, \
     recommended, first) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (day, algorithm_version, move_id) DO UPDATE SET \
     recommended = move_rollup.recommended + excluded.recommended, \
     first = move_rollup.first + excluded.first";

/// Writes a batch of decisions (sorted by id, so concurrent writers lock rows in one order);
/// says for each, in the order given, whether it was new.
pub fn insert_decisions(
    tx: &mut dyn Tx,
    decisions: &[Decision],
) -> Result<Vec<Logged>, StoreError> {
    let mut order: Vec<usize> = (0..decisions.len()).collect();
    order.sort_by(|&a, &b| decisions[a].decision_id.cmp(&decisions[b].decision_id));
    let mut stored = vec![false; decisions.len()];
    let mut rollup: BTreeMap<(i64, &str, i64), DecisionDelta> = BTreeMap::new();
    let mut moves: BTreeMap<(i64, &str, &str), (i64, i64)> = BTreeMap::new();
    for index in order {
        let decision = &decisions[index];
        let ts_ms = decision.timestamp.timestamp_millis();
        let day = day_of(ts_ms);
        let changed = tx.execute(
            INSERT_DECISION,
            &[
                Value::from(decision.decision_id.as_str()),
                Value::Int(ts_ms),
                Value::Int(day),
                Value::from(decision.user_id.clone()),
                Value::from(decision.input_song.as_str()),
                Value::Text(json(&decision.recommended_moves)),
                Value::Text(json(&decision.recommendation_scores)),
                Value::Int(decision.recommended_moves.len() as i64),
                Value::from(decision.algorithm_version.as_str()),
                Value::Text(json(&decision.weights_used)),
                Value::Real(decision.processing_time_ms),
                Value::Text(json(&decision.song_features)),
                Value::from(decision.experiment_id.clone()),
                Value::from(decision.variation.clone()),
            ],
        )?;
        if changed == 0 {
            continue;
        }
        stored[index] = true;
        let ms = decision.processing_time_ms;
        let version = decision.algorithm_version.as_str();
        let delta = rollup
            .entry((day, version, latency_bucket(ms)))
            .or_insert_with(|| DecisionDelta {
                min: ms,
                max: ms,
                ..DecisionDelta::default()
            });
        delta.decisions += 1;
        delta.sum += ms;
        delta.min = delta.min.min(ms);
        delta.max = delta.max.max(ms);
        if let Some(mean) = mean_score(decision) {
            delta.scored += 1;
            delta.score_sum += mean;
        }
        // A move listed twice in one decision counts once.
        let mut seen: Vec<&str> = Vec::with_capacity(decision.recommended_moves.len());
        for (rank, id) in decision.recommended_moves.iter().enumerate() {
            if seen.contains(&id.as_str()) {
                continue;
            }
            seen.push(id);
            let entry = moves.entry((day, version, id)).or_default();
            entry.0 += 1;
            entry.1 += i64::from(rank == 0);
        }
    }
    for ((day, version, bucket), delta) in rollup {
        tx.execute(
            UPSERT_DECISION_ROLLUP,
            &[
                Value::Int(day),
                Value::from(version),
                Value::Int(bucket),
                Value::Int(delta.decisions),
                Value::Real(delta.sum),
                Value::Real(delta.min),
                Value::Real(delta.max),
                Value::Int(delta.scored),
                Value::Real(delta.score_sum),
            ],
        )?;
    }
    for ((day, version, id), (recommended, first)) in moves {
        tx.execute(
            UPSERT_MOVE_ROLLUP,
            &[
                Value::Int(day),
                Value::from(version),
                Value::from(id),
                Value::Int(recommended),
                Value::Int(first),
            ],
        )?;
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

const INSERT_FEEDBACK: &str = "INSERT INTO feedback (feedback_id, decision_id, ts_ms, day, \
     user_id, feedback_type, feedback_value, move_id, comments, decision_day, algorithm_version, \
     move_count, move_rank) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
     ON CONFLICT (feedback_id) DO NOTHING";

const UPSERT_FEEDBACK_ROLLUP: &str = "INSERT INTO feedback_rollup (day, algorithm_version, \
     feedback_type, events, valued, value_sum) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (day, algorithm_version, feedback_type) DO UPDATE SET \
     events = feedback_rollup.events + excluded.events, \
     valued = feedback_rollup.valued + excluded.valued, \
     value_sum = feedback_rollup.value_sum + excluded.value_sum";

/// What feedback needs of its decision.
struct Parent {
    day: i64,
    version: String,
    moves: Vec<String>,
}

fn parent(tx: &mut dyn Tx, decision_id: &str) -> Result<Option<Parent>, StoreError> {
    let mut found = None;
    tx.query(
        "SELECT day, algorithm_version, recommended_moves FROM decisions WHERE decision_id = $1",
        &[Value::from(decision_id)],
        &mut |row| {
            let moves = serde_json::from_str(&row.text(2)?).map_err(|error| {
                StoreError::Database(format!("stored moves are not JSON: {error}"))
            })?;
            found = Some(Parent {
                day: row.int(0)?,
                version: row.text(1)?,
                moves,
            });
            Ok(())
        },
    )?;
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
    let mut order: Vec<usize> = (0..feedback.len()).collect();
    order.sort_by(|&a, &b| feedback[a].feedback_id.cmp(&feedback[b].feedback_id));
    let mut stored = vec![false; feedback.len()];
    let mut rollup: BTreeMap<(i64, String, &str), (i64, i64, f64)> = BTreeMap::new();
    let name = |error, index| if batch { in_batch(error, index) } else { error };
    for index in order {
        let event = &feedback[index];
        let Some(decision) = parent(tx, &event.decision_id)? else {
            return Err(name(
                invalid(
                    "decision_id",
                    Some(event.decision_id.clone()),
                    format!("no decision {:?} is stored", event.decision_id),
                ),
                index,
            )
            .into());
        };
        let rank = match &event.move_id {
            None => 0,
            Some(id) => match decision.moves.iter().position(|m| m == id) {
                Some(position) => position as i64 + 1,
                None => {
                    return Err(name(
                        invalid(
                            "move_id",
                            Some(id.clone()),
                            format!(
                                "{id:?} is not one of decision {:?}'s moves",
                                event.decision_id
                            ),
                        ),
                        index,
                    )
                    .into());
                }
            },
        };
        let ts_ms = event.timestamp.timestamp_millis();
        let day = day_of(ts_ms);
        let changed = tx.execute(
            INSERT_FEEDBACK,
            &[
                Value::from(event.feedback_id.as_str()),
                Value::from(event.decision_id.as_str()),
                Value::Int(ts_ms),
                Value::Int(day),
                Value::from(event.user_id.clone()),
                Value::from(event.feedback_type.as_str()),
                Value::from(event.feedback_value),
                Value::from(event.move_id.clone()),
                Value::from(event.comments.clone()),
                Value::Int(decision.day),
                Value::from(decision.version.as_str()),
                Value::Int(decision.moves.len() as i64),
                Value::Int(rank),
            ],
        )?;
        if changed == 0 {
            continue;
        }
        stored[index] = true;
        let entry = rollup
            .entry((day, decision.version, event.feedback_type.as_str()))
            .or_default();
        entry.0 += 1;
        if let Some(value) = event.feedback_value {
            entry.1 += 1;
            entry.2 += value;
        }
    }
    for ((day, version, kind), (events, valued, value_sum)) in rollup {
        tx.execute(
            UPSERT_FEEDBACK_ROLLUP,
            &[
                Value::Int(day),
                Value::Text(version),
                Value::from(kind),
                Value::Int(events),
                Value::Int(valued),
                Value::Real(value_sum),
            ],
        )?;
    }
    Ok(feedback
        .iter()
        .zip(stored)
        .map(|(event, stored)| Logged {
            id: event.feedback_id.clone(),
            stored,
        })
        .collect())
}

/// What a prune removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    /// Decisions removed.
    pub decisions: u64,
    /// Feedback removed.
    pub feedback: u64,
}

/// Removes events (and per-day totals) of days before `first_kept_day`; feedback goes with
/// its decision.
pub fn prune(tx: &mut dyn Tx, first_kept_day: i64) -> Result<Pruned, StoreError> {
    let day = [Value::Int(first_kept_day)];
    let feedback = tx.execute(
        "DELETE FROM feedback WHERE day < $1 OR decision_day < $1",
        &day,
    )?;
    let decisions = tx.execute("DELETE FROM decisions WHERE day < $1", &day)?;
    for table in ["decision_rollup", "move_rollup", "feedback_rollup"] {
        tx.execute(&format!("DELETE FROM {table} WHERE day < $1"), &day)?;
    }
    Ok(Pruned {
        decisions,
        feedback,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_sort_as_times_and_are_narrow() {
        let times = [0.0, 0.001, 0.5, 1.0, 1.007, 1.01, 12.5, 100.0, 1e6];
        let buckets: Vec<i64> = times.iter().map(|&t| latency_bucket(t)).collect();
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(latency_bucket(1.0), latency_bucket(1.007));
        assert_ne!(latency_bucket(1.0), latency_bucket(1.01));
    }

    #[test]
    fn days_are_utc() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(86_399_999), 0);
        assert_eq!(day_of(86_400_000), 1);
    }
}
