//! `monitor`: the performance monitor's metrics, as the policy computes them.

use super::super::Policy;
use super::super::bindings::wit::monitor as wit;
use super::super::convert;
use crate::types::error::Error;
use crate::types::metrics::{
    DayMetrics, DayTotals, FeedbackTotals, JudgedDecision, Operational, RankingMetrics,
    RankingTotals, WindowTotals,
};

impl Policy {
    /// User satisfaction in [0, 1] from feedback counts.
    pub fn satisfaction(&self, feedback: &[FeedbackTotals]) -> Result<f64, Error> {
        let feedback = convert::monitor_feedback(feedback);
        self.call("monitor.satisfaction", |exports, store| {
            exports
                .monitor(&mut *store)?
                .call_satisfaction(store, &feedback)
        })
    }

    /// The operational metrics of a window; `top` bounds the top moves.
    pub fn summarize(&self, window: &WindowTotals, top: u32) -> Result<Operational, Error> {
        let window = wit::WindowTotals::from(window);
        let operational = self.call("monitor.summarize", |exports, store| {
            exports
                .monitor(&mut *store)?
                .call_summarize(store, &window, top)
        })?;
        Ok(operational.into())
    }

    /// Whether a piece of feedback marks a move relevant (`None`: no judgment).
    pub fn relevance(
        &self,
        feedback_type: &str,
        value: Option<f64>,
    ) -> Result<Option<bool>, Error> {
        self.call("monitor.relevance", |exports, store| {
            exports
                .monitor(&mut *store)?
                .call_relevance(store, feedback_type, value)
        })
    }

    /// Adds a page of judged decisions to the ranking sums, at cut-off `k`.
    pub fn rank(
        &self,
        k: u32,
        totals: RankingTotals,
        page: Vec<JudgedDecision>,
    ) -> Result<RankingTotals, Error> {
        let page = convert::judged(page);
        let totals = self.call("monitor.rank", |exports, store| {
            exports
                .monitor(&mut *store)?
                .call_rank(store, k, totals.into(), &page)
        })?;
        Ok(totals.into())
    }

    /// The sums of two sets of decisions as one.
    pub fn combine(&self, a: RankingTotals, b: RankingTotals) -> Result<RankingTotals, Error> {
        let totals = self.call("monitor.combine", |exports, store| {
            exports
                .monitor(&mut *store)?
                .call_combine(store, a.into(), b.into())
        })?;
        Ok(totals.into())
    }

    /// The ranking metrics from the sums of every page.
    pub fn ranking(&self, k: u32, totals: RankingTotals) -> Result<RankingMetrics, Error> {
        let metrics = self.call("monitor.ranking", |exports, store| {
            exports
                .monitor(&mut *store)?
                .call_ranking(store, k, totals.into())
        })?;
        Ok(metrics.into())
    }

    /// The metrics of each day.
    pub fn daily(&self, days: &[DayTotals]) -> Result<Vec<DayMetrics>, Error> {
        let days: Vec<wit::DayTotals> = days.iter().map(Into::into).collect();
        let metrics = self.call("monitor.daily", |exports, store| {
            exports.monitor(&mut *store)?.call_daily(store, &days)
        })?;
        Ok(metrics.into_iter().map(Into::into).collect())
    }
}
