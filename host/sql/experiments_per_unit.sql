-- Each exposed unit of experiment $1 with its quantities, as the CTE `per_unit`: its decisions
-- from a minute before its first exposure (clients' clocks, and the decision that followed the
-- assignment) to $2 (the end, ms), and their feedback; units exposed to several variations, or
-- first after the end, left out. Both hosts read this one file (the native host compiles it in,
-- the Python package ships it) and follow it with `SELECT … FROM per_unit GROUP BY variation`.
WITH units AS (
    SELECT unit, MIN(variation) AS variation, MIN(exposed_at_ms) AS since
    FROM exposures WHERE test_id = $1 GROUP BY unit HAVING COUNT(*) = 1 AND MIN(exposed_at_ms) < $2
), decided AS (
    SELECT u.unit, d.decision_id, d.processing_time_ms
    FROM units u JOIN decisions d ON d.user_id = u.unit
        AND d.ts_ms >= u.since - 60000 AND d.ts_ms < $2
), by_decisions AS (
    SELECT unit, COUNT(*) AS decisions, SUM(processing_time_ms) AS processing_ms
    FROM decided GROUP BY unit
), by_feedback AS (
    SELECT x.unit,
        SUM(CASE WHEN f.feedback_type = 'like' THEN 1 ELSE 0 END) AS likes,
        SUM(CASE WHEN f.feedback_type = 'dislike' THEN 1 ELSE 0 END) AS dislikes,
        SUM(CASE WHEN f.feedback_type = 'skip' THEN 1 ELSE 0 END) AS skips,
        SUM(CASE WHEN f.feedback_type = 'use' THEN 1 ELSE 0 END) AS uses,
        SUM(CASE WHEN f.feedback_type = 'rating' AND f.feedback_value IS NOT NULL
            THEN 1 ELSE 0 END) AS ratings,
        SUM(CASE WHEN f.feedback_type = 'rating' AND f.feedback_value IS NOT NULL
            THEN f.feedback_value ELSE 0 END) AS rating_sum
    FROM decided x JOIN feedback f ON f.decision_id = x.decision_id GROUP BY x.unit
), per_unit AS (
    SELECT u.variation,
        CAST(COALESCE(d.decisions, 0) AS DOUBLE PRECISION) AS decisions,
        CAST(COALESCE(d.processing_ms, 0) AS DOUBLE PRECISION) AS processing_ms,
        CAST(COALESCE(f.likes, 0) AS DOUBLE PRECISION) AS likes,
        CAST(COALESCE(f.dislikes, 0) AS DOUBLE PRECISION) AS dislikes,
        CAST(COALESCE(f.skips, 0) AS DOUBLE PRECISION) AS skips,
        CAST(COALESCE(f.uses, 0) AS DOUBLE PRECISION) AS uses,
        CAST(COALESCE(f.ratings, 0) AS DOUBLE PRECISION) AS ratings,
        CAST(COALESCE(f.rating_sum, 0) AS DOUBLE PRECISION) AS rating_sum
    FROM units u
    LEFT JOIN by_decisions d ON d.unit = u.unit
    LEFT JOIN by_feedback f ON f.unit = u.unit
)
