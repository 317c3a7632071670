/**
 * What this host lends the policy: secrets from the function given, and no filesystem, metrics
 * or pose model.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CapabilityUnavailable, instantiatePolicy } from '../src/host.js';

const CLOUD = [
  ['ENVIRONMENT', 'cloud'],
  ['GCP_PROJECT_ID', 'my-project'],
];

const CLEANUP_SETTINGS = {
  maxTempAgeHours: 24,
  maxCacheSizeGb: 5,
  cacheLowWaterRatio: 0.8,
  memoryWarningThreshold: 0.85,
  diskWarningThreshold: 0.9,
  memoryCriticalThreshold: 0.9,
};

const RUN_OPTIONS = { now: 1_700_000_000n, force: false, dryRun: true, maxSamples: 1000 };

test('cleanup.run traps: host-fs is not available', async () => {
  const { cleanup } = await instantiatePolicy();
  assert.throws(() => cleanup.run(CLEANUP_SETTINGS, RUN_OPTIONS), CapabilityUnavailable);
});

test('pose.detect errs: host-pose is not available', async () => {
  const { config, pose } = await instantiatePolicy();
  const frame = { id: 1, width: 640, height: 480, scale: 1, padX: 0, padY: 80 };
  assert.throws(
    () => pose.detect([frame], config.load([], undefined).yolo),
    (error) => error.payload.errorCode === 'MOVE_ANALYSIS_ERROR'
      && error.payload.message.includes('host-pose is not available in this host'),
  );
});

test('a failing secret store is a service failure whose reason hides no value', async () => {
  const { config } = await instantiatePolicy({
    secrets: (project, name) => {
      assert.equal(project, 'my-project');
      if (name === 'elasticsearch-port') throw new Error('connection refused');
      return 's3cr3t-value';
    },
  });
  assert.throws(
    () => config.load(CLOUD, undefined),
    ({ payload }) => payload.error.errorCode === 'SERVICE_UNAVAILABLE_ERROR'
      && payload.error.message.includes('elasticsearch-port')
      && payload.error.message.includes('connection refused')
      && !payload.error.message.includes('s3cr3t-value'),
  );
});

test('without a secret store, cloud mode fails clearly', async () => {
  const { config } = await instantiatePolicy();
  assert.throws(
    () => config.load(CLOUD, undefined),
    ({ payload }) => payload.error.message.endsWith('this host has no secret store'),
  );
});

test('the policy sees no process environment', async () => {
  process.env.ELASTICSEARCH_HOST = 'from-the-process';
  try {
    const { config } = await instantiatePolicy();
    assert.equal(config.load([], undefined).elasticsearch.host, 'localhost');
  } finally {
    delete process.env.ELASTICSEARCH_HOST;
  }
});
