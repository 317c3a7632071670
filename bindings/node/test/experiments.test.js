/**
 * The component's GrowthBook hash against GrowthBook's own JavaScript on text beyond ASCII:
 * FNV-1a runs over UTF-16 code units (`charCodeAt`), so accented letters, CJK and astral
 * characters (two code units each) must hash as the SDK hashes them.
 */

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { instantiatePolicy } from '../src/host.js';

// From the GrowthBook JS SDK, packages/sdk-js/src/util.ts, MIT (types removed).

/**
 * 32-bit FNV-1a over the UTF-16 code units of `str`.
 *
 * @param {string} str
 * @returns {number}
 */
function hashFnv32a(str) {
  let hval = 0x811c9dc5;
  const l = str.length;

  for (let i = 0; i < l; i++) {
    hval ^= str.charCodeAt(i);
    hval += (hval << 1) + (hval << 4) + (hval << 7) + (hval << 8) + (hval << 24);
  }
  return hval >>> 0;
}

/**
 * GrowthBook's hash of `value` under `seed`, in [0, 1), or `null` for an unknown version.
 *
 * @param {string} seed
 * @param {string} value
 * @param {number} version
 * @returns {number | null}
 */
function hash(seed, value, version) {
  // New unbiased hashing algorithm
  if (version === 2) {
    return (hashFnv32a(hashFnv32a(seed + value) + '') % 10000) / 10000;
  }
  // Original biased hashing algorithm (keep for backwards compatibility)
  if (version === 1) {
    return (hashFnv32a(value + seed) % 1000) / 1000;
  }

  // Unknown hash version
  return null;
}

// End of the GrowthBook JS SDK's code.

/** Text beyond ASCII: Latin-1, BMP scripts, astral emoji (surrogate pairs), mixed, and empty. */
const TEXTS = [
  'ñandú',
  '日本語',
  '🎵💃',
  'user-é',
  'bachata 💃 Ñ 日本 ü-42',
  'Ωμέγα',
  'Ⅻ𝄞',
  '',
  'plain-ascii',
];

describe('experiments.hash agrees with the GrowthBook JS SDK beyond ASCII', async () => {
  const { experiments } = await instantiatePolicy();

  for (const version of [1, 2]) {
    for (const seed of TEXTS) {
      for (const value of TEXTS) {
        test(`v${version}: seed ${JSON.stringify(seed)}, value ${JSON.stringify(value)}`, () => {
          assert.equal(experiments.hash(seed, value, version), hash(seed, value, version));
        });
      }
    }
  }

  test('an unknown version is none in both', () => {
    for (const version of [0, 3, 99]) {
      assert.equal(hash('ñandú', '日本語', version), null);
      assert.equal(experiments.hash('ñandú', '日本語', version), undefined);
    }
  });

  test('in-namespace is the SDK\'s version-1 hash under `__<id>`', () => {
    for (const id of TEXTS) {
      for (const unit of TEXTS) {
        const bucket = hash(`__${id}`, unit, 1);
        for (const [start, end] of [[0, 0.4], [0.4, 1], [0.25, 0.75]]) {
          assert.equal(
            experiments.inNamespace(unit, { id, start, end }),
            bucket >= start && bucket < end,
            `${JSON.stringify(unit)} in ${JSON.stringify(id)} [${start}, ${end})`,
          );
        }
      }
    }
  });
});
