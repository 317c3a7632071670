//! Repeated ids: an event sent again under a stored id must repeat its content, else it is
//! a conflict (a retry is safe; a different event under a reused id is refused).

use super::sql::{StoreError, Tx, Value};
use super::tables::{ROWS_PER_STATEMENT, json};
use crate::types::monitor::{Decision, Feedback, Refusal};

/// What identifies a decision's content (all but its time, which a retry may leave to the
/// server), as the row's text columns read back.
pub(super) fn decision_content(decision: &Decision) -> Vec<Cell> {
    vec![
        Cell::Text(decision.user_id.clone()),
        Cell::Text(Some(decision.input_song.clone())),
        Cell::Text(Some(json(&decision.recommended_moves))),
        Cell::Text(Some(json(&decision.recommendation_scores))),
        Cell::Text(Some(decision.algorithm_version.clone())),
        Cell::Text(Some(json(&decision.weights_used))),
        Cell::Real(Some(decision.processing_time_ms)),
        Cell::Text(Some(json(&decision.song_features))),
        Cell::Text(decision.experiment_id.clone()),
        Cell::Text(decision.variation.clone()),
    ]
}

/// What identifies a feedback event's content (all but its time).
pub(super) fn feedback_content(event: &Feedback) -> Vec<Cell> {
    vec![
        Cell::Text(Some(event.decision_id.clone())),
        Cell::Text(event.user_id.clone()),
        Cell::Text(Some(event.feedback_type.clone())),
        Cell::Real(event.feedback_value),
        Cell::Text(event.move_id.clone()),
        Cell::Text(event.comments.clone()),
    ]
}

/// One column of an event's content, compared with the stored row's.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Cell {
    Text(Option<String>),
    Real(Option<f64>),
}

/// A repeated id must repeat its content: an event whose id was already stored (or given
/// twice in the batch) with other content is refused as a conflict naming the id, and the
/// batch writes nothing. `select` reads the id and the content columns of `content`, in
/// order (`... WHERE id IN`); `order` lists the events sorted by id; `inserted` holds the ids this
/// batch wrote.
pub(super) fn check_repeats<'a>(
    tx: &mut dyn Tx,
    field: &'static str,
    select: &str,
    order: &[usize],
    id: &dyn Fn(usize) -> &'a str,
    content: &dyn Fn(usize) -> Vec<Cell>,
    inserted: &std::collections::HashSet<String>,
) -> Result<(), StoreError> {
    let conflict = |id: &str| StoreError::Refused {
        refusal: Refusal::Conflict {
            field,
            id: id.to_string(),
        },
        index: None,
    };
    // Within the batch: `order` is sorted by id, so repeats are neighbours; content is
    // built only for them (a batch of new, distinct ids builds none).
    for pair in order.windows(2) {
        if id(pair[0]) == id(pair[1]) && content(pair[0]) != content(pair[1]) {
            return Err(conflict(id(pair[1])));
        }
    }
    // Against the store: ids this batch did not write, with their first content.
    let mut first: std::collections::HashMap<&'a str, Vec<Cell>> = std::collections::HashMap::new();
    for &index in order {
        let key = id(index);
        if !inserted.contains(key) && !first.contains_key(key) {
            first.insert(key, content(index));
        }
    }
    let repeated: Vec<&str> = first.keys().copied().collect();
    for chunk in repeated.chunks(ROWS_PER_STATEMENT) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!("{select} ({})", placeholders.join(", "));
        let params: Vec<Value> = chunk.iter().map(|key| Value::from(*key)).collect();
        let mut differs = None;
        tx.query(&sql, &params, &mut |row| {
            let key = row.text(0)?;
            let expected = first.get(key.as_str()).cloned().unwrap_or_default();
            for (column, want) in expected.iter().enumerate() {
                let got = match want {
                    Cell::Text(_) => Cell::Text(row.opt_text(column + 1)?),
                    Cell::Real(_) => Cell::Real(row.opt_real(column + 1)?),
                };
                if got != *want {
                    differs.get_or_insert(key);
                    break;
                }
            }
            Ok(())
        })?;
        if let Some(key) = differs {
            return Err(conflict(&key));
        }
    }
    Ok(())
}
