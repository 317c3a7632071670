"""The experiments' statistics against an independent oracle computed here with SciPy and NumPy.

Every case is generated from per-unit data (a fixed seed, so the cases are the same on every
run); the component sees only the sums the host would aggregate (units, Σx, Σx², and for ratio
metrics Σy, Σy², Σxy), the oracle sees the data:

- a mean metric: Welch's t-test from ``scipy.stats.ttest_ind_from_stats`` (standard deviations
  with ddof=1), the Welch–Satterthwaite degrees of freedom and the interval from
  ``scipy.stats.t.ppf``; the relative effect with the delta method's variance; the flat-prior
  chance to win from ``scipy.stats.norm``;
- a ratio metric: gbstats' ``RatioStatistic`` variance from the sample variances and covariance
  (``numpy.var``/``numpy.cov``, ddof=1), then the same Welch test;
- ``sample-ratio-p``: ``scipy.stats.chisquare`` against the weights of the positive-weight arms;
- ``adjust``: ``scipy.stats.false_discovery_control`` (Benjamini–Hochberg) and Holm's step-down
  procedure written out.

Effects, standard errors, intervals and degrees of freedom are compared within 1e-6, relative to
their size when it exceeds 1; p-values and chances to win within 1e-6 absolute; adjusted
p-values within 1e-9.
"""

import math

import numpy as np
import pytest
from scipy import stats

from bachata_common import policy

SEED = 20_260_401
#: Generated cases of each kind.
MEAN_CASES = 300
RATIO_CASES = 150
SAMPLE_RATIO_CASES = 200
ADJUST_CASES = 200

#: The tolerance of effects, standard errors, bounds and degrees of freedom (relative above 1).
TOLERANCE = 1e-6
#: The tolerance of adjusted p-values.
ADJUST_TOLERANCE = 1e-9
#: The interval's level.
ALPHA = 0.05


def definition(metric: str) -> dict:
    """A fixed-horizon experiment of a control and one variation, judged on ``metric``."""
    return {
        "test-id": "oracle",
        "test-name": "SciPy oracle",
        "start-ms": 0,
        "end-ms": 86_400_000,
        "algorithm-versions": ["control", "variation"],
        "traffic-split": [["control", 0.5], ["variation", 0.5]],
        "coverage": 1.0,
        "seed": "oracle",
        "hash-version": 2,
        "success-metrics": [metric],
        "minimum-sample-size": 2,
        "namespace": None,
        "sequential": False,
    }


def sums(values: np.ndarray) -> dict:
    """Σx and Σx² of per-unit values."""
    return {"sum": float(values.sum()), "sum-squares": float((values * values).sum())}


def comparison(metric: str, arms: list[dict]) -> dict:
    """The only comparison of an analysis of two arms (no adjustment)."""
    result = policy.experiments_analyze(
        {"definition": definition(metric), "arms": arms, "multi-exposed": 0, "correction": "none"}
    )
    assert result["tag"] == "ok", result["val"]
    (only,) = result["val"]["comparisons"]
    return only


def close(value: float):
    """``value`` within :data:`TOLERANCE`, relative to its size above 1."""
    return pytest.approx(value, rel=TOLERANCE, abs=TOLERANCE)


def probability(value: float):
    """A probability within :data:`TOLERANCE`, absolute."""
    return pytest.approx(value, rel=0, abs=TOLERANCE)


def units(rng: np.random.Generator) -> int:
    """A number of units from 2 to 5,000, log-uniform (so small arms are common)."""
    return int(round(math.exp(rng.uniform(math.log(2), math.log(5000)))))


def per_unit(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` units' values: normal, Poisson counts or log-normal, of random location and spread."""
    kind = rng.integers(3)
    if kind == 0:
        return rng.normal(rng.uniform(-50, 200), math.exp(rng.uniform(math.log(0.01), math.log(100))), n)
    if kind == 1:
        return rng.poisson(math.exp(rng.uniform(math.log(0.2), math.log(50))), n).astype(float)
    return rng.lognormal(rng.uniform(-2, 3), rng.uniform(0.1, 1.5), n)


def welch_dof(var_a: float, n_a: int, var_b: float, n_b: int) -> float:
    """Welch–Satterthwaite degrees of freedom of per-unit variances."""
    a, b = var_a / n_a, var_b / n_b
    return (a + b) ** 2 / (a**2 / (n_a - 1) + b**2 / (n_b - 1))


def expected_estimate(effect: float, se: float, dof: float) -> dict:
    """A fixed-horizon estimate from an effect, its standard error and degrees of freedom, with
    SciPy's t distribution."""
    quantile = stats.t.ppf(1 - ALPHA / 2, dof)
    return {
        "effect": close(effect),
        "standard-error": close(se),
        "ci-lower": close(effect - quantile * se),
        "ci-upper": close(effect + quantile * se),
        "p-value": probability(2 * stats.t.sf(abs(effect / se), dof)),
        "degrees-of-freedom": close(dof),
    }


def relative_expectation(mean_a, var_a, n_a, mean_b, var_b, n_b) -> tuple[dict, float, float]:
    """The relative estimate by the delta method (effect, standard error and Welch's test), and
    the effect and standard error themselves."""
    effect = (mean_b - mean_a) / abs(mean_a)
    variance = var_b / n_b / mean_a**2 + var_a / n_a * mean_b**2 / mean_a**4
    se = math.sqrt(variance)
    return expected_estimate(effect, se, welch_dof(var_a, n_a, var_b, n_b)), effect, se


def bayesian_expectation(effect: float, se: float, higher_is_better: bool) -> dict:
    """The flat-prior posterior N(effect, se²) of the relative effect."""
    above = stats.norm.cdf(effect / se)
    z = stats.norm.ppf(1 - ALPHA / 2)
    return {
        "chance-to-win": probability(above if higher_is_better else 1 - above),
        "ci-lower": close(effect - z * se),
        "ci-upper": close(effect + z * se),
    }


def mean_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """Two arms of per-unit values each: sizes and distributions drawn independently, so unequal
    sizes and variances are the rule; every tenth case has equal sizes."""
    rng = np.random.default_rng(SEED)
    cases = []
    for index in range(MEAN_CASES):
        n_a = units(rng)
        n_b = n_a if index % 10 == 0 else units(rng)
        cases.append((per_unit(rng, n_a), per_unit(rng, n_b)))
    return cases


MEAN = mean_cases()


@pytest.mark.parametrize("control, variation", MEAN, ids=[f"{i}: n={len(a)}/{len(b)}" for i, (a, b) in enumerate(MEAN)])
def test_mean_metric_matches_welch(control, variation):
    arms = [{"units": len(x), "metrics": [{"numerator": sums(x), "denominator": None, "sum-products": 0.0}]}
            for x in (control, variation)]
    actual = comparison("decisions_per_unit", arms)
    n_a, n_b = len(control), len(variation)
    mean_a, mean_b = control.mean(), variation.mean()
    sd_a, sd_b = control.std(ddof=1), variation.std(ddof=1)
    assert actual["control-mean"] == close(mean_a)
    assert actual["mean"] == close(mean_b)
    if sd_a == 0 or sd_b == 0:
        assert (actual["absolute"], actual["relative"], actual["bayesian"]) == (None, None, None)
        assert actual["problem"] == "the metric does not vary"
        return

    welch = stats.ttest_ind_from_stats(mean_b, sd_b, n_b, mean_a, sd_a, n_a, equal_var=False)
    var_a, var_b = sd_a**2, sd_b**2
    se = math.sqrt(var_a / n_a + var_b / n_b)
    dof = welch_dof(var_a, n_a, var_b, n_b)
    quantile = stats.t.ppf(1 - ALPHA / 2, dof)
    effect = mean_b - mean_a
    absolute = actual["absolute"]
    assert absolute is not None, actual["problem"]
    assert absolute == {
        "effect": close(effect),
        "standard-error": close(se),
        "ci-lower": close(effect - quantile * se),
        "ci-upper": close(effect + quantile * se),
        "p-value": probability(welch.pvalue),
        "degrees-of-freedom": close(dof),
    }
    assert absolute["effect"] / absolute["standard-error"] == close(welch.statistic)

    if mean_a == 0:
        assert actual["relative"] is None and actual["bayesian"] is None
        return
    relative, rel_effect, rel_se = relative_expectation(mean_a, var_a, n_a, mean_b, var_b, n_b)
    assert actual["relative"] == relative
    assert actual["bayesian"] == bayesian_expectation(rel_effect, rel_se, higher_is_better=True)


def ratio_cases() -> list[tuple[str, tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]]:
    """Two arms of per-unit (numerator, denominator) pairs: decisions per unit (at least one) and
    the feedback among them, correlated through the decisions. The metric alternates between one
    where higher is better (``like_rate``) and one where lower is (``skip_rate``)."""
    rng = np.random.default_rng(SEED + 1)
    cases = []
    for index in range(RATIO_CASES):
        arms = []
        for _ in range(2):
            n = units(rng)
            decisions = 1 + rng.poisson(math.exp(rng.uniform(math.log(0.5), math.log(30))), n)
            feedback = rng.binomial(decisions, rng.uniform(0.02, 0.9))
            arms.append((feedback.astype(float), decisions.astype(float)))
        cases.append(("like_rate" if index % 2 == 0 else "skip_rate", arms[0], arms[1]))
    return cases


def ratio_statistic(numerator: np.ndarray, denominator: np.ndarray) -> tuple[float, float]:
    """gbstats' ``RatioStatistic``: Σm/Σd and the per-unit delta-method variance
    var_m/μd² + var_d·μm²/μd⁴ − 2·cov·μm/μd³ (sample variances and covariance, ddof=1)."""
    mu_m, mu_d = numerator.mean(), denominator.mean()
    var_m, var_d = numerator.var(ddof=1), denominator.var(ddof=1)
    cov = np.cov(numerator, denominator, ddof=1)[0, 1]
    variance = var_m / mu_d**2 + var_d * mu_m**2 / mu_d**4 - 2 * cov * mu_m / mu_d**3
    return numerator.sum() / denominator.sum(), variance


RATIO = ratio_cases()


@pytest.mark.parametrize(
    "metric, control, variation",
    RATIO,
    ids=[f"{i}: {metric} n={len(a[0])}/{len(b[0])}" for i, (metric, a, b) in enumerate(RATIO)],
)
def test_ratio_metric_matches_the_delta_method(metric, control, variation):
    arms = [
        {
            "units": len(m),
            "metrics": [{"numerator": sums(m), "denominator": sums(d), "sum-products": float((m * d).sum())}],
        }
        for m, d in (control, variation)
    ]
    actual = comparison(metric, arms)
    n_a, n_b = len(control[0]), len(variation[0])
    mean_a, var_a = ratio_statistic(*control)
    mean_b, var_b = ratio_statistic(*variation)
    assert actual["control-mean"] == close(mean_a)
    assert actual["mean"] == close(mean_b)
    if not (var_a > 1e-12 and var_b > 1e-12):
        # No variance (every unit the same ratio): the component rightly gives no estimate.
        assert actual["absolute"] is None, (var_a, var_b)
        assert actual["problem"] == "the metric does not vary"
        return

    welch = stats.ttest_ind_from_stats(mean_b, math.sqrt(var_b), n_b, mean_a, math.sqrt(var_a), n_a, equal_var=False)
    dof = welch_dof(var_a, n_a, var_b, n_b)
    absolute = actual["absolute"]
    assert absolute is not None, actual["problem"]
    assert absolute == expected_estimate(mean_b - mean_a, math.sqrt(var_a / n_a + var_b / n_b), dof)
    assert absolute["p-value"] == probability(welch.pvalue)

    if mean_a == 0:
        assert actual["relative"] is None and actual["bayesian"] is None
        return
    relative, rel_effect, rel_se = relative_expectation(mean_a, var_a, n_a, mean_b, var_b, n_b)
    assert actual["relative"] == relative
    assert actual["bayesian"] == bayesian_expectation(rel_effect, rel_se, higher_is_better=metric == "like_rate")


def sample_ratio_cases() -> list[tuple[list[int], list[float]]]:
    """Units of 2 to 5 arms drawn from a split near the weights, some weights 0."""
    rng = np.random.default_rng(SEED + 2)
    cases = []
    for _ in range(SAMPLE_RATIO_CASES):
        arms = int(rng.integers(2, 6))
        weights = rng.uniform(0.05, 1, arms)
        if arms > 2 and rng.uniform() < 0.3:
            weights[rng.integers(arms)] = 0.0
        if rng.uniform() < 0.5:
            weights = weights / weights.sum()
        drift = weights * rng.uniform(0.9, 1.1, arms) + 1e-3
        total = int(round(math.exp(rng.uniform(math.log(20), math.log(200_000)))))
        observed = rng.multinomial(total, drift / drift.sum())
        cases.append(([int(count) for count in observed], [float(weight) for weight in weights]))
    return cases


SAMPLE_RATIO = sample_ratio_cases()


@pytest.mark.parametrize(
    "observed, weights", SAMPLE_RATIO, ids=[f"{i}: {len(units)} arms" for i, (units, _) in enumerate(SAMPLE_RATIO)]
)
def test_sample_ratio_p_matches_chisquare(observed, weights):
    kept = [(count, weight) for count, weight in zip(observed, weights) if weight > 0]
    counts = np.array([count for count, _ in kept], dtype=float)
    shares = np.array([weight for _, weight in kept])
    expected = stats.chisquare(counts, f_exp=shares / shares.sum() * counts.sum()).pvalue
    assert policy.experiments_sample_ratio_p(observed, weights) == probability(expected)


def test_sample_ratio_p_is_none_without_a_test():
    assert policy.experiments_sample_ratio_p([10, 20, 30], [1.0, 0.0, 0.0]) is None
    assert policy.experiments_sample_ratio_p([0, 0], [0.5, 0.5]) is None
    assert policy.experiments_sample_ratio_p([0, 0, 7], [0.5, 0.5, 0.0]) is None


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment: the i-th smallest of m p-values becomes the largest of
    min(1, (m − j + 1)·p(j)) over j ≤ i; returned in the input's order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda index: p_values[index])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order, start=1):
        running = max(running, min(1.0, (m - rank + 1) * p_values[index]))
        adjusted[index] = running
    return adjusted


def adjust_cases() -> list[list[float]]:
    """Lists of 1 to 30 p-values: uniform, tiny, repeated, and some equal to 1."""
    rng = np.random.default_rng(SEED + 3)
    cases = []
    for _ in range(ADJUST_CASES):
        m = int(rng.integers(1, 31))
        p_values = rng.uniform(0, 1, m) ** rng.uniform(0.5, 6)
        if m > 1 and rng.uniform() < 0.3:
            p_values[rng.integers(m)] = p_values[rng.integers(m)]
        if rng.uniform() < 0.2:
            p_values[rng.integers(m)] = 1.0
        cases.append([float(p) for p in p_values])
    return cases


ADJUST = adjust_cases()


@pytest.mark.parametrize("p_values", ADJUST, ids=[f"{i}: m={len(p_values)}" for i, p_values in enumerate(ADJUST)])
def test_adjust_matches_scipy_and_holm(p_values):
    bh = policy.experiments_adjust(p_values, "benjamini-hochberg")
    assert bh == pytest.approx(list(stats.false_discovery_control(p_values, method="bh")), rel=0, abs=ADJUST_TOLERANCE)
    assert policy.experiments_adjust(p_values, "holm-bonferroni") == pytest.approx(
        holm(p_values), rel=0, abs=ADJUST_TOLERANCE
    )
    assert policy.experiments_adjust(p_values, "none") == p_values
