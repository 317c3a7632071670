-- The performance monitor's events, and the per-day totals the metrics are read from.
-- One schema for SQLite and PostgreSQL: BIGINT, DOUBLE PRECISION and TEXT mean the same in
-- both. Lists and maps (moves, scores, weights, features) are JSON text. `/*WITHOUT_ROWID*/`
-- is a comment to PostgreSQL; on SQLite it becomes `WITHOUT ROWID` (the per-day totals are
-- small rows found by their key: one B-tree instead of a table and its key's index).

CREATE TABLE decisions (
    decision_id TEXT PRIMARY KEY,
    ts_ms BIGINT NOT NULL,
    day BIGINT NOT NULL,
    user_id TEXT,
    input_song TEXT NOT NULL,
    recommended_moves TEXT NOT NULL,
    recommendation_scores TEXT NOT NULL,
    move_count BIGINT NOT NULL,
    algorithm_version TEXT NOT NULL,
    weights_used TEXT NOT NULL,
    processing_time_ms DOUBLE PRECISION NOT NULL,
    song_features TEXT NOT NULL,
    experiment_id TEXT,
    variation TEXT
);
CREATE INDEX decisions_by_day ON decisions (day);

CREATE TABLE feedback (
    feedback_id TEXT PRIMARY KEY,
    decision_id TEXT NOT NULL REFERENCES decisions (decision_id),
    ts_ms BIGINT NOT NULL,
    day BIGINT NOT NULL,
    user_id TEXT,
    feedback_type TEXT NOT NULL,
    feedback_value DOUBLE PRECISION,
    move_id TEXT,
    comments TEXT,
    -- Copied from the decision when the feedback is stored, for the ranking metrics.
    decision_day BIGINT NOT NULL,
    algorithm_version TEXT NOT NULL,
    move_count BIGINT NOT NULL,
    move_rank BIGINT NOT NULL
);
CREATE INDEX feedback_by_decision ON feedback (decision_id, ts_ms);
-- The ranking metrics read a window's feedback grouped by decision, oldest first, from this
-- index alone.
CREATE INDEX feedback_judgments ON feedback (decision_day, decision_id, ts_ms, feedback_id,
    algorithm_version, move_count, move_rank, feedback_type, feedback_value);
CREATE INDEX feedback_by_day ON feedback (day);

-- Decisions per day and version: counts, sums, the processing times as a histogram (JSON
-- `[[bucket, count, min_ms, max_ms], …]`, see host/src/capabilities/store/histogram.rs) and
-- how often each move was recommended (JSON `[[move_id, recommended, first], …]`).
CREATE TABLE decision_rollup (
    day BIGINT NOT NULL,
    algorithm_version TEXT NOT NULL,
    decisions BIGINT NOT NULL,
    processing_ms_sum DOUBLE PRECISION NOT NULL,
    scored BIGINT NOT NULL,
    score_sum DOUBLE PRECISION NOT NULL,
    latency TEXT NOT NULL,
    moves TEXT NOT NULL,
    PRIMARY KEY (day, algorithm_version)
);

-- Feedback per day (of the feedback), version (of its decision) and type.
CREATE TABLE feedback_rollup (
    day BIGINT NOT NULL,
    algorithm_version TEXT NOT NULL,
    feedback_type TEXT NOT NULL,
    events BIGINT NOT NULL,
    valued BIGINT NOT NULL,
    value_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (day, algorithm_version, feedback_type)
) /*WITHOUT_ROWID*/;
