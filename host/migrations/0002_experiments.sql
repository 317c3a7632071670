-- A/B experiments beside the monitor's events: their definitions, and each unit's exposure to
-- a variation (the first time it was served, once per unit and variation).

CREATE TABLE experiments (
    test_id TEXT PRIMARY KEY,
    -- The definition as JSON (host/src/types/experiments.rs, `Definition`).
    definition TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE exposures (
    test_id TEXT NOT NULL REFERENCES experiments (test_id),
    unit TEXT NOT NULL,
    -- Index into the definition's algorithm versions.
    variation BIGINT NOT NULL,
    exposed_at_ms BIGINT NOT NULL,
    PRIMARY KEY (test_id, unit, variation)
) /*WITHOUT_ROWID*/;

-- The analysis reads each exposed unit's decisions from its exposure on.
CREATE INDEX decisions_by_user ON decisions (user_id, ts_ms);
