//! Reading back what the metrics need, aggregated in SQL from the per-day totals: never a
//! list that grows with the events, except the judged decisions, which are streamed in pages.

use std::collections::BTreeMap;

use super::histogram::{Histogram, MoveCounts};
use super::sql::{Row, StoreError, Tx, Value};
use crate::types::metrics::{
    DayTotals, DecisionTotals, FeedbackTotals, JudgedDecision, Judgment, WindowTotals,
};

/// The most moves a window lists (the distribution of a vocabulary larger than this keeps
/// its most recommended moves).
pub const MAX_MOVES: usize = 10_000;

/// Days `from..=to` (day numbers, UTC) and an optional algorithm version.
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    /// First day.
    pub from: i64,
    /// Last day.
    pub to: i64,
    /// Only this algorithm version.
    pub version: Option<&'a str>,
}

impl Window<'_> {
    /// `$1`, `$2` (and `$3`, the version, when there is one), and the SQL condition on `day`.
    fn params(&self) -> Vec<Value<'_>> {
        let mut params = vec![Value::Int(self.from), Value::Int(self.to)];
        if let Some(version) = self.version {
            params.push(Value::from(version));
        }
        params
    }

    fn condition(&self, day: &str) -> String {
        let version = if self.version.is_some() {
            " AND algorithm_version = $3"
        } else {
            ""
        };
        format!("{day} >= $1 AND {day} <= $2{version}")
    }
}

fn count(row: &dyn Row, i: usize) -> Result<u64, StoreError> {
    Ok(u64::try_from(row.int(i)?).unwrap_or(0))
}

/// The decisions of a window, or of each day of it (`by_day`), in day order: the rows of
/// each day and version summed, their histograms merged.
fn decision_totals(
    tx: &mut dyn Tx,
    window: &Window<'_>,
    by_day: bool,
) -> Result<BTreeMap<i64, DecisionTotals>, StoreError> {
    let sql = format!(
        "SELECT day, decisions, processing_ms_sum, scored, score_sum, latency \
         FROM decision_rollup WHERE {} ORDER BY day, algorithm_version",
        window.condition("day")
    );
    let mut totals: BTreeMap<i64, (DecisionTotals, Histogram)> = BTreeMap::new();
    tx.query(&sql, &window.params(), &mut |row| {
        let key = if by_day { row.int(0)? } else { 0 };
        let (entry, histogram) = totals.entry(key).or_default();
        entry.decisions += count(row, 1)?;
        entry.processing_ms_sum += row.real(2)?;
        entry.scored += count(row, 3)?;
        entry.score_sum += row.real(4)?;
        histogram.merge(&Histogram::decode(&row.text(5)?)?);
        Ok(())
    })?;
    Ok(totals
        .into_iter()
        .map(|(key, (mut entry, histogram))| {
            entry.latency = histogram.buckets();
            (key, entry)
        })
        .collect())
}

/// Feedback per type of a window, or of each day of it.
fn feedback_totals(
    tx: &mut dyn Tx,
    window: &Window<'_>,
    by_day: bool,
) -> Result<BTreeMap<i64, Vec<FeedbackTotals>>, StoreError> {
    let select = if by_day { "day" } else { "CAST(0 AS BIGINT)" };
    let group = if by_day {
        "day, feedback_type"
    } else {
        "feedback_type"
    };
    let sql = format!(
        "SELECT {select}, feedback_type, CAST(SUM(events) AS BIGINT), CAST(SUM(valued) AS BIGINT), \
         SUM(value_sum) FROM feedback_rollup WHERE {} GROUP BY {group} ORDER BY {group}",
        window.condition("day")
    );
    let mut totals: BTreeMap<i64, Vec<FeedbackTotals>> = BTreeMap::new();
    tx.query(&sql, &window.params(), &mut |row| {
        totals.entry(row.int(0)?).or_default().push(FeedbackTotals {
            feedback_type: row.text(1)?,
            count: count(row, 2)?,
            valued: count(row, 3)?,
            value_sum: row.real(4)?,
        });
        Ok(())
    })?;
    Ok(totals)
}

/// Everything counted for a window.
pub fn window_totals(tx: &mut dyn Tx, window: &Window<'_>) -> Result<WindowTotals, StoreError> {
    let decisions = decision_totals(tx, window, false)?
        .remove(&0)
        .unwrap_or_default();
    let feedback = feedback_totals(tx, window, false)?
        .remove(&0)
        .unwrap_or_default();
    let sql = format!(
        "SELECT moves FROM decision_rollup WHERE {}",
        window.condition("day")
    );
    let mut counts = MoveCounts::default();
    tx.query(&sql, &window.params(), &mut |row| {
        counts.merge(&MoveCounts::decode(&row.text(0)?)?);
        Ok(())
    })?;
    let moves = counts.top(MAX_MOVES);
    Ok(WindowTotals {
        decisions,
        feedback,
        moves,
    })
}

/// `YYYY-MM-DD` of a day number.
pub fn day_name(day: i64) -> String {
    chrono::DateTime::from_timestamp(day.saturating_mul(86_400), 0)
        .map(|time| time.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Every day of the window, in order, with what was counted that day (zeros for a quiet day).
pub fn daily_totals(tx: &mut dyn Tx, window: &Window<'_>) -> Result<Vec<DayTotals>, StoreError> {
    let mut decisions = decision_totals(tx, window, true)?;
    let mut feedback = feedback_totals(tx, window, true)?;
    Ok((window.from..=window.to)
        .map(|day| DayTotals {
            day: day_name(day),
            decisions: decisions.remove(&day).unwrap_or_default(),
            feedback: feedback.remove(&day).unwrap_or_default(),
        })
        .collect())
}

/// The algorithm versions with decisions in the window, in order.
pub fn versions(tx: &mut dyn Tx, window: &Window<'_>) -> Result<Vec<String>, StoreError> {
    let sql = format!(
        "SELECT DISTINCT algorithm_version FROM decision_rollup WHERE {} ORDER BY algorithm_version",
        window.condition("day")
    );
    let mut versions = Vec::new();
    tx.query(&sql, &window.params(), &mut |row| {
        versions.push(row.text(0)?);
        Ok(())
    })?;
    Ok(versions)
}

/// What [`judged_decisions`] hands each page to: the page's algorithm version and decisions.
pub type PageSink<'a> = dyn FnMut(&str, Vec<JudgedDecision>) -> Result<(), StoreError> + 'a;

/// Streams the window's decisions that have feedback, with their feedback oldest first (read
/// in the order of the `feedback_judgments` index, no sort), in pages of at most `page_size`
/// decisions of one algorithm version: `each(version, page)`. Memory holds a page per version.
pub fn judged_decisions(
    tx: &mut dyn Tx,
    window: &Window<'_>,
    page_size: usize,
    each: &mut PageSink<'_>,
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT algorithm_version, decision_id, move_count, move_rank, feedback_type, feedback_value \
         FROM feedback WHERE {} ORDER BY decision_day, decision_id, ts_ms, feedback_id",
        window.condition("decision_day")
    );
    let mut pages: BTreeMap<String, Vec<JudgedDecision>> = BTreeMap::new();
    let mut current = (String::new(), String::new());
    tx.query(&sql, &window.params(), &mut |row| {
        let version = row.text(0)?;
        let decision = row.text(1)?;
        let judgment = Judgment {
            rank: u32::try_from(row.int(3)?).unwrap_or(0),
            feedback_type: row.text(4)?,
            value: row.opt_real(5)?,
        };
        let page = pages.entry(version.clone()).or_default();
        if current.0 != version || current.1 != decision || page.is_empty() {
            if page.len() >= page_size {
                each(&version, std::mem::take(page))?;
            }
            page.push(JudgedDecision {
                moves: u32::try_from(row.int(2)?).unwrap_or(u32::MAX),
                judgments: Vec::new(),
            });
            current = (version, decision);
        }
        if let Some(last) = page.last_mut() {
            last.judgments.push(judgment);
        }
        Ok(())
    })?;
    for (version, page) in pages {
        if !page.is_empty() {
            each(&version, page)?;
        }
    }
    Ok(())
}
