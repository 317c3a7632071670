/**
 * The `couple` interface (contract 1.2.0) through this host: the calls the shared vectors
 * (tests/vectors/couple.json, run by vectors.test.js through `couple.update`) leave out, and the
 * tracker's state carried through the host's values.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { instantiatePolicy } from '../src/host.js';

const box = (x1, y1, x2, y2) => ({ x1, y1, x2, y2 });
const LEAD = box(100, 100, 200, 400);
const FOLLOW = box(500, 100, 600, 400);
const CFG = { iouThreshold: 0.5, maxAge: 30 };

test('couple.update: many frames in one call answer as frame by frame', async () => {
  const { couple } = await instantiatePolicy();
  const frames = [[FOLLOW, LEAD], [LEAD], [], [LEAD, FOLLOW]];
  const [state, roles] = couple.update({ tracks: [], nextId: 0n }, frames, CFG);
  assert.deepEqual(
    roles.map(({ ids, lead, follow }) => ({ ids: Array.from(ids), lead, follow })),
    [
      { ids: [0n, 1n], lead: 1, follow: 0 },
      { ids: [1n], lead: 0, follow: undefined },
      { ids: [], lead: undefined, follow: undefined },
      { ids: [1n, 0n], lead: 0, follow: 1 },
    ],
  );
  assert.deepEqual(state, {
    tracks: [
      { id: 0n, bbox: FOLLOW, unseen: 0 },
      { id: 1n, bbox: LEAD, unseen: 0 },
    ],
    nextId: 2n,
  });

  let stepped = { tracks: [], nextId: 0n };
  for (const frame of frames) [stepped] = couple.update(stepped, [frame], CFG);
  assert.deepEqual(stepped, state);
});

test('couple.update: a box with x1 > x2 is a validation error', async () => {
  const { couple } = await instantiatePolicy();
  assert.throws(
    () => couple.update({ tracks: [], nextId: 0n }, [[box(10, 0, 5, 10)]], CFG),
    ({ payload }) => payload.errorCode === 'VALIDATION_ERROR' && payload.kind.tag === 'validation',
  );
});

test('couple.leadFollow: leftmost leads, rightmost follows', async () => {
  const { couple } = await instantiatePolicy();
  assert.deepEqual(couple.leadFollow([]), { lead: undefined, follow: undefined });
  assert.deepEqual(couple.leadFollow([LEAD]), { lead: 0, follow: undefined });
  assert.deepEqual(couple.leadFollow([FOLLOW, box(300, 0, 400, 300), LEAD]), { lead: 2, follow: 0 });
  assert.throws(
    () => couple.leadFollow([box(0, 0, Number.NaN, 1)]),
    ({ payload }) => payload.errorCode === 'VALIDATION_ERROR',
  );
});

test('couple.iou: intersection over union, 0 for an empty box', async () => {
  const { couple } = await instantiatePolicy();
  assert.equal(couple.iou(LEAD, LEAD), 1);
  assert.equal(couple.iou(LEAD, FOLLOW), 0);
  assert.equal(couple.iou(box(0, 0, 10, 10), box(5, 0, 15, 10)), 50 / 150);
  assert.equal(couple.iou(box(5, 5, 5, 5), box(5, 5, 5, 5)), 0);
});

test('couple.rate: frames with both dancers over the processed ones, low under 30 %', async () => {
  const { couple } = await instantiatePolicy();
  assert.deepEqual(couple.rate(0n, 0n), { rate: 0, low: true });
  assert.deepEqual(couple.rate(10n, 2n), { rate: 0.2, low: true });
  assert.deepEqual(couple.rate(10n, 3n), { rate: 0.3, low: false });
  assert.deepEqual(couple.rate(4n, 4n), { rate: 1, low: false });
});
