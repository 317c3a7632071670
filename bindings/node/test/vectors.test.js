/**
 * Runs every shared test vector (tests/vectors/*.json, read in place) against the component.
 *
 * Vectors write values with WIT names (`error-code`, `null` for none); jco uses camelCase record
 * fields and `undefined`. {@link fromWit} and {@link toWit} translate between the two. jco's
 * `u64` is a `BigInt`: {@link monitorValue} makes the monitor's counts so, and {@link toWit} turns
 * every `BigInt` back into a number.
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

/**
 * Makes the `u64` fields of a jco value `BigInt`, recursively (a `decisions` that is a record
 * stays one).
 *
 * @param {unknown} value
 * @param {string} [key] the field holding `value`
 * @returns {unknown}
 */
function withBigInts(value, key) {
  if (Array.isArray(value)) return value.map((item) => withBigInts(item));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, withBigInts(item, name)]));
  }
  return U64_FIELDS.has(key) && Number.isInteger(value) ? BigInt(value) : value;
}

/** A monitor vector's value as jco takes it. */
const monitorValue = (value) => withBigInts(fromWit(value));

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
