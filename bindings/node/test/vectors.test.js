/**
 * Runs every shared test vector (tests/vectors/*.json, read in place) against the component.
 *
 * Vectors write values with WIT names (`error-code`, `null` for none); jco uses camelCase record
 * fields and `undefined`. {@link fromWit} and {@link toWit} translate between the two. jco's
 * `u64` and `s64` are `BigInt`s: {@link monitorValue} and {@link experimentsValue} make the
 * monitor's counts and the experiments' counts and instants so, and {@link toWit} turns every
 * `BigInt` back into a number (and a typed array, jco's `list<f64>` or `list<u64>`, into a plain
 * one).
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';

import { instantiatePolicy } from '../src/host.js';

const VECTORS = new URL('../../../tests/vectors/', import.meta.url);

/**
 * One vector file, parsed.
 *
 * @param {string} name
 * @returns {any}
 */
function vectors(name) {
  return JSON.parse(readFileSync(new URL(name, VECTORS), 'utf8'));
}

/** `ranking-totals` before the first page. */
const ZERO_TOTALS = {
  judged: 0,
  'with-relevant': 0,
  'precision-sum': 0,
  'recall-sum': 0,
  hits: 0,
  'reciprocal-rank-sum': 0,
  'ndcg-sum': 0,
  'first-relevant': 0,
};

const camel = (name) => name.replace(/-([a-z0-9])/g, (_, letter) => letter.toUpperCase());
const kebab = (name) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

/**
 * Renames every object key and maps `null`/`undefined`, recursively.
 *
 * @param {unknown} value
 * @param {(key: string) => string} rename
 * @param {null | undefined} none what an absent option becomes
 * @returns {unknown}
 */
function translate(value, rename, none) {
  if (value === null || value === undefined) return none;
  if (typeof value === 'bigint') return Number(value);
  if (ArrayBuffer.isView(value)) return Array.from(value, (item) => translate(item, rename, none));
  if (Array.isArray(value)) return value.map((item) => translate(item, rename, none));
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [rename(key), translate(item, rename, none)]));
  }
  return value;
}

/** A vector's value as jco takes it. */
const fromWit = (value) => translate(value, camel, undefined);
/** A value jco produced, as vectors write it (a `BigInt` becomes a number). */
const toWit = (value) => translate(value, kebab, null);

/**
 * Calls `run`, expecting it to throw jco's `ComponentError`; returns the error value.
 *
 * @param {() => unknown} run
 * @returns {unknown}
 */
function errorOf(run) {
  try {
    run();
  } catch (error) {
    if (!Object.hasOwn(error, 'payload')) throw error;
    return error.payload;
  }
  assert.fail('expected the call to fail');
}

/** The `u64` fields of the monitor's records (jco field names). */
const U64_FIELDS = new Set([
  'count', 'valued', 'decisions', 'scored', 'recommended', 'first', 'judged', 'withRelevant', 'hits', 'firstRelevant',
]);

/** The `u64` and `s64` fields of the experiments' records (jco field names). */
const EXPERIMENTS_INT64_FIELDS = new Set(['startMs', 'endMs', 'minimumSampleSize', 'units', 'multiExposed']);

/**
 * Makes the 64-bit integer fields of a jco value `BigInt`, recursively (a `decisions` that is a
 * record stays one).
 *
 * @param {unknown} value
 * @param {Set<string>} fields the names of those fields
 * @param {string} [key] the field holding `value`
 * @returns {unknown}
 */
function withBigInts(value, fields, key) {
  if (Array.isArray(value)) return value.map((item) => withBigInts(item, fields));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, withBigInts(item, fields, name)]));
  }
  return fields.has(key) && Number.isInteger(value) ? BigInt(value) : value;
}

/** A monitor vector's value as jco takes it. */
const monitorValue = (value) => withBigInts(fromWit(value), U64_FIELDS);
/** An experiments vector's value as jco takes it. */
const experimentsValue = (value) => withBigInts(fromWit(value), EXPERIMENTS_INT64_FIELDS);

/**
 * Asserts that `actual` is `expected`, numbers within 1e-9 (tests/vectors/README.md).
 *
 * @param {unknown} actual
 * @param {unknown} expected
 * @param {string} at where in the value, for the message
 */
function assertClose(actual, expected, at) {
  if (typeof expected === 'number' && typeof actual === 'number') {
    assert.ok(Math.abs(actual - expected) <= 1e-9, `${at}: ${actual} is not ${expected}`);
  } else if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${at}: ${JSON.stringify(actual)} is not a list`);
    assert.equal(actual.length, expected.length, `${at}: ${JSON.stringify(actual)}`);
    expected.forEach((item, index) => assertClose(actual[index], item, `${at}[${index}]`));
  } else if (expected !== null && typeof expected === 'object') {
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${at}: fields`);
    for (const [key, item] of Object.entries(expected)) assertClose(actual[key], item, `${at}.${key}`);
  } else {
    assert.equal(actual, expected, at);
  }
}

/** The keys of `actual` that `wanted` lists. */
const subset = (actual, wanted) => Object.fromEntries(Object.keys(wanted).map((key) => [key, actual[key] ?? null]));

describe('config.json', () => {
  for (const vector of vectors('config.json').cases) {
    test(vector.name, async () => {
      const secrets = vector.secrets ?? {};
      const policy = await instantiatePolicy({ secrets: (_project, name) => secrets[name] });
      const env = Object.entries(vector.env);
      const dotenv = vector.dotenv ?? undefined;
      if (vector.expect.settings) {
        const resolved = toWit(policy.config.load(env, dotenv));
        const settings = new Map(resolved.settings.map((setting) => [setting.name, setting]));
        const actual = {};
        for (const [name, wanted] of Object.entries(vector.expect.settings)) {
          assert.ok(settings.has(name), `setting ${name} is reported`);
          actual[name] = subset(settings.get(name), wanted);
        }
        assert.deepEqual(actual, vector.expect.settings);
      } else {
        const failure = toWit(errorOf(() => policy.config.load(env, dotenv)));
        const wanted = vector.expect.error;
        assert.equal(failure.error['error-code'], wanted['error-code'], failure.error.message);
        assert.equal(failure.problems.length, wanted.problems.length, JSON.stringify(failure.problems));
        assert.deepEqual(
          failure.problems.map((problem, index) => subset(problem, wanted.problems[index])),
          wanted.problems,
        );
      }
    });
  }
});

describe('errors.json', async () => {
  const errors = vectors('errors.json');
  const policy = (await instantiatePolicy()).errors;

  for (const { 'error-code': code, 'error-type': type, message } of errors.messages) {
    test(`user-friendly-message ${code}/${type}`, () => {
      assert.equal(policy.userFriendlyMessage(code, type), message);
    });
  }

  for (const { 'error-code': code, status } of errors['http-status']) {
    test(`http-status ${code || '(empty)'}`, () => {
      assert.equal(policy.httpStatus(code), status);
    });
  }

  for (const vector of errors['make-error']) {
    test(`make-error ${vector.kind.tag}: ${vector.message}`, () => {
      const error = policy.makeError(fromWit(vector.kind), vector.message, vector.details);
      assert.deepEqual(subset(toWit(error), vector.expect), vector.expect);
      assert.deepEqual(toWit(error.kind), vector.kind);
      for (const { 'error-type': type, instance, json } of vector.problem) {
        const document = policy.problemJson(error, type ?? undefined, instance ?? undefined);
        assert.deepEqual(JSON.parse(document), json);
      }
    });
  }

  test('catalog', () => {
    const entries = toWit(policy.catalog());
    assert.equal(entries.length, errors.catalog.count);
    for (const entry of errors.catalog.contains) {
      assert.ok(
        entries.some((actual) => isDeepStrictEqual(actual, entry)),
        `${entry['error-code']}/${entry['error-type']} is listed`,
      );
    }
  });
});

describe('monitor.json', async () => {
  const cases = vectors('monitor.json');
  const { monitor } = await instantiatePolicy();

  for (const vector of cases.satisfaction) {
    test(`satisfaction: ${vector.name}`, () => {
      assertClose(monitor.satisfaction(monitorValue(vector.feedback)), vector.expect, vector.name);
    });
  }

  for (const vector of cases.summarize) {
    test(`summarize: ${vector.name}`, () => {
      const operational = toWit(monitor.summarize(monitorValue(vector.window), vector.top));
      assertClose(subset(operational, vector.expect), vector.expect, vector.name);
    });
  }

  for (const { 'feedback-type': type, value, expect } of cases.relevance) {
    test(`relevance ${JSON.stringify(type)} ${value}`, () => {
      assert.equal(monitor.relevance(type, value ?? undefined) ?? null, expect);
    });
  }

  for (const vector of cases.rank) {
    test(`rank: ${vector.name}`, () => {
      let totals = monitorValue(vector.totals ?? ZERO_TOTALS);
      for (const page of vector.pages) totals = monitor.rank(vector.k, totals, monitorValue(page));
      assertClose(toWit(totals), vector.expect.totals, `${vector.name}: totals`);
      assertClose(toWit(monitor.ranking(vector.k, totals)), vector.expect.metrics, `${vector.name}: metrics`);
    });
  }

  for (const vector of cases.daily) {
    test(`daily: ${vector.name}`, () => {
      assertClose(toWit(monitor.daily(monitorValue(vector.days))), vector.expect, vector.name);
    });
  }
});

/**
 * A number truncated to 8 decimal places, as GrowthBook's `json.test.ts` rounds both sides
 * (`Math.floor(n * 1e8) / 1e8`), recursively.
 *
 * @param {unknown} value a number or a list of them
 * @returns {unknown}
 */
function truncated(value) {
  if (Array.isArray(value) || ArrayBuffer.isView(value)) return Array.from(value, truncated);
  return Math.floor(value * 1e8) / 1e8;
}

describe('growthbook.json', async () => {
  const cases = vectors('growthbook.json');
  const { experiments } = await instantiatePolicy();

  for (const [seed, value, version, expected] of cases.hash) {
    test(`hash v${version}: ${JSON.stringify(seed)} ${JSON.stringify(value)}`, () => {
      assert.equal(experiments.hash(seed, value, version) ?? null, expected);
    });
  }

  for (const [name, [count, coverage, weights], expected] of cases.getBucketRange) {
    test(`bucket-ranges: ${name}`, () => {
      const ranges = experiments.bucketRanges(count, coverage, weights ?? undefined);
      assert.deepEqual(truncated(ranges), truncated(expected));
    });
  }

  for (const [name, n, ranges, expected] of cases.chooseVariation) {
    test(`choose-variation: ${name}`, () => {
      assert.equal(experiments.chooseVariation(n, ranges), expected);
    });
  }

  for (const [name, unit, [id, start, end], expected] of cases.inNamespace) {
    test(`in-namespace: ${name}`, () => {
      assert.equal(experiments.inNamespace(unit, { id, start, end }), expected);
    });
  }

  for (const [count, expected] of cases.getEqualWeights) {
    test(`equal-weights ${count}`, () => {
      assert.deepEqual(truncated(experiments.equalWeights(count)), truncated(expected));
    });
  }
});

/**
 * Asserts that `actual` (a number or `null`) is `expected` within half a unit of its last
 * place (tests/vectors/README.md).
 *
 * @param {number | null} actual
 * @param {number | null} expected
 * @param {number} decimals
 * @param {string} at where in the value, for the message
 */
function assertWithin(actual, expected, decimals, at) {
  if (expected === null) {
    assert.equal(actual, null, at);
    return;
  }
  assert.equal(typeof actual, 'number', `${at}: ${actual} is not a number`);
  const tolerance = 0.5 * 10 ** -decimals + 1e-12;
  assert.ok(Math.abs(actual - expected) <= tolerance, `${at}: ${actual} is not ${expected} (±${tolerance})`);
}

/** The fields of a comparison an `analyze` case may list, besides the estimates. */
const COMPARISON_VALUES = ['control-mean', 'mean'];
/** The estimates of a comparison an `analyze` case may list (records, or `null` for none). */
const COMPARISON_ESTIMATES = ['relative', 'absolute', 'bayesian'];

describe('experiments.json', async () => {
  const cases = vectors('experiments.json');
  const { experiments } = await instantiatePolicy();

  for (const vector of cases.analyze) {
    test(`analyze: ${vector.name}`, () => {
      const input = {
        definition: { ...cases.definition, 'success-metrics': vector['success-metrics'] },
        arms: vector.arms,
        'multi-exposed': 0,
        correction: 'none',
      };
      const analysis = toWit(experiments.analyze(experimentsValue(input)));
      const [comparison] = analysis.comparisons;
      const { expect, decimals } = vector;
      const unknown = Object.keys(expect).filter(
        (key) => !COMPARISON_VALUES.includes(key) && !COMPARISON_ESTIMATES.includes(key),
      );
      assert.deepEqual(unknown, [], 'fields the runner knows');
      for (const field of COMPARISON_VALUES) {
        if (field in expect) assertWithin(comparison[field], expect[field], decimals, field);
      }
      for (const field of COMPARISON_ESTIMATES) {
        if (!(field in expect)) continue;
        if (expect[field] === null) {
          assert.equal(comparison[field], null, `${field} is none`);
          continue;
        }
        assert.notEqual(comparison[field], null, `${field} is none: ${comparison.problem}`);
        for (const [key, expected] of Object.entries(expect[field])) {
          assertWithin(comparison[field][key] ?? null, expected, decimals, `${field}.${key}`);
        }
      }
    });
  }

  for (const vector of cases['sample-ratio-p']) {
    test(`sample-ratio-p: ${vector.name}`, () => {
      const p = experiments.sampleRatioP(vector.units.map(BigInt), vector.weights);
      assertWithin(p ?? null, vector.expect, vector.decimals, vector.name);
    });
  }

  for (const vector of cases.adjust) {
    test(`adjust: ${vector.name}`, () => {
      const adjusted = Array.from(experiments.adjust(vector['p-values'], vector.correction));
      assert.equal(adjusted.length, vector.expect.length, JSON.stringify(adjusted));
      vector.expect.forEach((expected, index) => {
        assertWithin(adjusted[index], expected, vector.decimals, `${vector.name}[${index}]`);
      });
    });
  }
});

/** The fields of a `placement` a `plan` case may list (`reason` is not compared). */
const PLACEMENT_FIELDS = ['clip-id', 'current-path', 'target-path', 'target-category', 'status'];

/**
 * A `categorize` case's test name: its label, and what it adds to the stock mapping.
 *
 * @param {any} vector
 * @returns {string}
 */
function categorizeName(vector) {
  let name = `categorize ${JSON.stringify(vector.label)}`;
  if (vector.mapping !== null) name += ' (own mapping)';
  if (vector['default-category'] !== null) name += ` (default ${vector['default-category']})`;
  return name;
}

describe('organizer.json', async () => {
  const cases = vectors('organizer.json');
  const { organizer } = await instantiatePolicy();
  const stock = organizer.stockMapping();
  /** A vector's mapping as jco takes it: the component's stock mapping when `null`. */
  const mapping = (value) => (value === null ? stock : fromWit(value));

  test('stock-mapping', () => {
    assert.deepEqual(toWit(stock), cases['stock-mapping']);
  });

  for (const [label, expected] of cases['normalize-label']) {
    test(`normalize-label ${JSON.stringify(label)}`, () => {
      assert.equal(organizer.normalizeLabel(label), expected);
    });
  }

  for (const vector of cases.categorize) {
    test(categorizeName(vector), () => {
      const defaultCategory = vector['default-category'] ?? undefined;
      const found = organizer.categorize(vector.label, mapping(vector.mapping), defaultCategory);
      assert.deepEqual(found ?? null, vector.expect);
    });
  }

  for (const vector of cases['check-mapping']) {
    test(`check-mapping: ${vector.name}`, () => {
      const check = () => organizer.checkMapping(mapping(vector.mapping));
      if (vector.expect === 'ok') {
        assert.equal(check(), undefined);
      } else {
        const error = errorOf(check);
        assert.equal(error.errorCode, vector.expect, error.message);
      }
    });
  }

  for (const vector of cases.plan) {
    test(`plan: ${vector.name}`, () => {
      const plan = () => organizer.plan(
        fromWit(vector.clips),
        mapping(vector.mapping),
        vector['default-category'] ?? undefined,
      );
      if (typeof vector.expect === 'string') {
        const error = errorOf(plan);
        assert.equal(error.errorCode, vector.expect, error.message);
        return;
      }
      const placements = toWit(plan());
      assert.equal(placements.length, vector.expect.length, JSON.stringify(placements));
      vector.expect.forEach((wanted, index) => {
        const unknown = Object.keys(wanted).filter((key) => !PLACEMENT_FIELDS.includes(key));
        assert.deepEqual(unknown, [], 'fields the runner knows');
        assert.deepEqual(subset(placements[index], wanted), wanted, `${vector.name}[${index}]`);
      });
    });
  }
});

/**
 * An `events` vector's value as jco takes it: an instant's `seconds` (`s64`) a `BigInt`.
 *
 * @param {unknown} value
 * @returns {unknown}
 */
const eventsValue = (value) => withBigInts(fromWit(value), new Set(['seconds']));

/**
 * What `run` answers as a WIT `result`: `{ tag: 'ok', val }`, or `{ tag: 'err', val }` for the
 * error jco throws; as vectors write it.
 *
 * @param {() => unknown} run
 * @returns {{ tag: string, val: unknown }}
 */
function resultOf(run) {
  let value;
  try {
    value = run();
  } catch (error) {
    if (!Object.hasOwn(error, 'payload')) throw error;
    return { tag: 'err', val: toWit(error.payload) };
  }
  return { tag: 'ok', val: toWit(value) };
}

describe('events.json', async () => {
  const cases = vectors('events.json');
  const { events } = await instantiatePolicy();
  const now = eventsValue(cases.now);
  /** A case's events: each the file's base record with the case's fields in their place. */
  const sent = (base, partial) => eventsValue(partial.map((event) => ({ ...base, ...event })));

  // Numbers are compared with Object.is (assert/strict), so a minus zero is not a zero.
  for (const vector of cases['check-decisions']) {
    test(`check-decisions: ${vector.name}`, () => {
      const decisions = sent(cases.decision, vector.events);
      assert.deepEqual(resultOf(() => events.checkDecisions(decisions, now, vector['batch-start'])), vector.expect);
    });
  }

  for (const vector of cases['check-feedback']) {
    test(`check-feedback: ${vector.name}`, () => {
      const feedback = sent(cases.feedback, vector.events);
      assert.deepEqual(resultOf(() => events.checkFeedback(feedback, now, vector['batch-start'])), vector.expect);
    });
  }

  for (const vector of cases.refused) {
    test(`refused: ${vector.name}`, () => {
      const error = events.refused(fromWit(vector.refusal), vector.index ?? undefined);
      assert.deepEqual(toWit(error), vector.expect);
    });
  }
});

/** The tracker's state at the start of a video. */
const START = { tracks: [], nextId: 0n };

describe('couple.json', async () => {
  const { cases } = vectors('couple.json');
  const { couple } = await instantiatePolicy();

  for (const vector of cases) {
    test(`update: ${vector.name}`, () => {
      const cfg = fromWit(vector.config);
      assert.equal(vector.expect.length, vector.frames.length, 'one expectation per frame');
      let state = START;
      vector.frames.forEach((boxes, number) => {
        const [next, roles] = couple.update(state, [fromWit(boxes)], cfg);
        assert.equal(roles.length, 1, `frame ${number}: one answer`);
        assert.deepEqual(toWit(roles[0]), vector.expect[number], `frame ${number}`);
        state = next;
      });
      // Numbers are compared with Object.is (assert/strict): boxes come back as given.
      assert.deepEqual(toWit(state), vector.state, 'final state');
      assert.equal(typeof state.nextId, 'bigint');
      for (const track of state.tracks) assert.equal(typeof track.id, 'bigint');
    });
  }
});
