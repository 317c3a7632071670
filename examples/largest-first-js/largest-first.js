// largest-first-js: a bachata-common cleanup policy written in JavaScript.
//
// It exports only `cleanup` (world `cleanup-policy`); every other concern stays the stock
// policy's. Its rules:
//
// - Age, in every area: files, links and other entries strictly older than
//   `max-temp-age-hours` (by modification time, at `options.now`) are removed, then directories
//   left empty that are old themselves; `force` treats everything as old.
// - Cache cap: when the regular files left in the `cache` area add up to more than
//   `max-cache-size-gb` GiB, the LARGEST go first (equal sizes in walk order) until the area is
//   at or below `cache-low-water-ratio` of the cap. The cut-off is found in bounded memory:
//   the age pass counts the bytes by size, a few more scans narrow the size that holds the
//   cut-off, a last scan removes what is above it and, at it, just enough.
// - `assess` warns when memory or disk use is above its threshold and asks for an emergency
//   cleanup above the critical memory threshold.
//
// Dry runs, locks, batching and the report are kit.js's.

import { CleanupRun, DIRECTORY, FILE, Histogram, findCut, invalidSetting } from './kit.js';

const CACHE = 'cache';
const GIB = 1024 ** 3;
const TOP = Number.MAX_SAFE_INTEGER;

/** The eviction key (the smallest goes first): the largest file first. */
const largestFirst = (entry) => Math.max(TOP - entry.size, 0);

function check(settings) {
  const { maxTempAgeHours, maxCacheSizeGb, cacheLowWaterRatio } = settings;
  if (!(Number.isFinite(maxTempAgeHours) && maxTempAgeHours >= 0)) {
    throw invalidSetting('max_temp_age_hours', maxTempAgeHours, 'a number >= 0');
  }
  if (!(Number.isFinite(maxCacheSizeGb) && maxCacheSizeGb > 0)) {
    throw invalidSetting('max_cache_size_gb', maxCacheSizeGb, 'a number > 0');
  }
  if (!(cacheLowWaterRatio > 0 && cacheLowWaterRatio <= 1)) {
    throw invalidSetting('cache_low_water_ratio', cacheLowWaterRatio, 'a ratio in (0, 1]');
  }
}

function run(settings, options) {
  check(settings);
  const cleanup = new CleanupRun(options);
  const old = (entry) => cleanup.isOld(entry, settings.maxTempAgeHours);
  // What the cap may evict: regular files the age rule keeps and no lock holds.
  const evictable = (entry) => (entry.kind === FILE && !entry.held && !old(entry)
    ? largestFirst(entry) : null);
  for (const area of cleanup.areas()) {
    const counted = area.name === CACHE ? new Histogram(0, TOP) : null;
    for (const entry of area.walk()) {
      if (entry.kind === DIRECTORY ? entry.emptied && old(entry) : old(entry)) {
        area.remove(entry, 'age');
      } else if (counted !== null && evictable(entry) !== null) {
        counted.add(evictable(entry), entry.size);
      }
    }
    if (counted === null || area.scanFailed) continue;
    const left = area.bytesLeft();
    const cap = settings.maxCacheSizeGb * GIB;
    if (left <= cap) continue;
    const cut = findCut(area, counted, Math.ceil(left - cap * settings.cacheLowWaterRatio),
      evictable);
    if (cut === null) continue;
    let taken = 0;
    for (const entry of area.walk()) {
      // Files the age rule took (or kept for a lock) are not the cap's.
      if (entry.kind !== FILE || old(entry)) continue;
      const key = largestFirst(entry);
      if (key > cut.hi || (key >= cut.lo && taken >= cut.bytes)) continue;
      // A locked file is kept and counted in skipped-in-use.
      if (area.remove(entry, 'cache-cap') && key >= cut.lo) taken += entry.size;
    }
  }
  return cleanup.report();
}

function percent(ratio) {
  return `${(ratio * 100).toFixed(1)}%`;
}

function assess(settings, snapshot) {
  const warnings = [];
  const memory = snapshot.memory.usedRatio;
  const critical = memory > settings.memoryCriticalThreshold;
  if (memory > settings.memoryWarningThreshold) {
    const threshold = critical ? settings.memoryCriticalThreshold : settings.memoryWarningThreshold;
    warnings.push({
      resource: 'memory',
      level: critical ? 'critical' : 'warning',
      value: memory,
      threshold,
      message: `memory use ${percent(memory)} is above the threshold of ${percent(threshold)}`,
    });
  }
  const disk = snapshot.disk.usedRatio;
  if (disk > settings.diskWarningThreshold) {
    warnings.push({
      resource: 'disk',
      level: 'warning',
      value: disk,
      threshold: settings.diskWarningThreshold,
      message: `disk use ${percent(disk)} is above the threshold of ${percent(settings.diskWarningThreshold)}`,
    });
  }
  return { warnings, emergencyCleanup: critical };
}

export const cleanup = { run, assess };
