// A small kit for bachata-common cleanup policies written in JavaScript.
//
// The host lends `host-fs` (wit/host-fs.wit) in packed forms that keep every host fast: a scan
// page is one text of NUL-terminated entries, a removal batch one text of paths and its answer
// one text of outcomes. This module hides them, and builds the `cleanup-report` that the host
// checks against what it removed:
//
//     const run = new CleanupRun(options);
//     for (const area of run.areas()) {
//       for (const entry of area.walk()) {       // page by page; a directory after what it holds
//         if (entry.kind === FILE && run.isOld(entry, hours)) area.remove(entry, 'age');
//       }
//     }
//     return run.report();
//
// - `area.walk()` scans an area a page at a time, so memory does not grow with the area. It
//   yields files, links and other entries as listed, and each directory once everything below
//   it has been seen, with `emptied` telling whether everything below it was removed.
// - `area.remove(entry, reason)` queues a removal (`age` or `cache-cap`); batches of at most
//   BATCH paths go to the host as they fill. An entry that is locked, or below a locked
//   directory, is kept and counted in `skipped-in-use` (each locked directory once).
// - `run.report()` returns totals per area and phase and the first `max-samples` removals and
//   problems, exactly as the host saw them (in a dry run, the removals it would make).
// - `Histogram` and `findCut` find which files an eviction order takes to free some bytes,
//   in bounded memory (a few more scans instead of holding the area).
//
// Sizes and times are numbers (exact up to 2^53); the report's counters are BigInts (u64).

import { areas as hostAreas, openScan, remove as hostRemove } from 'bachata:common/host-fs@1.2.0';

/** Entries asked for per scan page. */
export const PAGE = 1024;
/** Most paths sent in one removal batch (the host refuses more than 65,536). */
export const BATCH = 4096;
/** Most buckets a Histogram keeps. */
export const BUCKETS = 4096;

export const FILE = 'file';
export const DIRECTORY = 'directory';
export const SYMLINK = 'symlink';
export const OTHER = 'other';
const KINDS = { 0: FILE, 1: DIRECTORY, 2: SYMLINK, 3: OTHER };

/** Outcome statuses of a removal (see `remove` in wit/host-fs.wit). */
export const REMOVED = 0;
export const VANISHED = 1;
export const IN_USE = 2;
export const NOT_EMPTY = 3;
export const REFUSED = 4;
export const FAILED = 5;

const REASONS = ['age', 'cache-cap'];

/**
 * One entry of a scan. `path` is relative to the area, `/`-separated, in the host's form of
 * names (a name that is not UTF-8 is written with `\xNN` escapes): hand it back unchanged.
 * `size` is in bytes (0 for directories), `mtime` in whole seconds since the epoch and
 * `mtimeNanos` its sub-second part. `locked` is set when a process holds a lock on the entry
 * itself, `held` when it or a directory above it is locked (the host removes nothing there).
 * `emptied` is meaningful for directories yielded by `walk`: every entry below was asked to
 * be removed during that walk.
 */
export class Entry {
  constructor(kind, locked, size, mtime, mtimeNanos, path) {
    this.kind = kind;
    this.locked = locked;
    this.size = size;
    this.mtime = mtime;
    this.mtimeNanos = mtimeNanos;
    this.path = path;
    /** The outermost locked directory at or above the entry, if any. */
    this.holder = null;
    this.emptied = true;
    this.going = false;
  }

  /** The last segment of the path. */
  get name() {
    return this.path.slice(this.path.lastIndexOf('/') + 1);
  }

  get held() {
    return this.locked || this.holder !== null;
  }
}

function items(packed, what) {
  if (packed === '') return [];
  if (!packed.endsWith('\0')) throw new Error(`the last ${what} is not followed by a NUL`);
  return packed.slice(0, -1).split('\0');
}

function number(text, what, item) {
  if (!/^[0-9]+$/.test(text)) throw new Error(`${what} of ${JSON.stringify(item)} is not a number`);
  return Number(text);
}

/** Splits `text` at the first `count - 1` colons (the last field keeps its colons). */
function fields(text, count) {
  const out = [];
  let start = 0;
  while (out.length < count - 1) {
    const colon = text.indexOf(':', start);
    if (colon < 0) break;
    out.push(text.slice(start, colon));
    start = colon + 1;
  }
  out.push(text.slice(start));
  return out;
}

/** A page's entries from their packed form (`kind:locked:size:mtime:nanos:path\0`). */
export function unpackEntries(packed) {
  return items(packed, 'entry').map((item) => {
    const parts = fields(item, 6);
    if (parts.length !== 6) throw new Error(`entry ${JSON.stringify(item)} does not have six fields`);
    const [kind, locked, size, mtime, nanos, path] = parts;
    if (!(kind in KINDS)) throw new Error(`entry kind ${JSON.stringify(kind)} is not 0 to 3`);
    if (locked !== '0' && locked !== '1') {
      throw new Error(`the locked flag of ${JSON.stringify(item)} is not 0 or 1`);
    }
    const mtimeNanos = number(nanos, 'the mtime nanoseconds', item);
    if (mtimeNanos >= 1e9) throw new Error(`the nanoseconds of ${JSON.stringify(item)} are not below 10^9`);
    return new Entry(KINDS[kind], locked === '1', number(size, 'the size', item),
      number(mtime, 'the mtime', item), mtimeNanos, path);
  });
}

/** A removal batch's paths, each followed by a NUL. */
export function packPaths(paths) {
  return paths.map((path) => `${path}\0`).join('');
}

/**
 * A removal batch's outcomes from their packed form (`status:bytes:-` or `+reason`):
 * `{status, bytes (a BigInt), reason (a string or null)}`.
 */
export function unpackOutcomes(packed) {
  return items(packed, 'outcome').map((item) => {
    const parts = fields(item, 3);
    if (parts.length !== 3 || !/^[0-5]$/.test(parts[0]) || !/^[0-9]+$/.test(parts[1])) {
      throw new Error(`outcome ${JSON.stringify(item)} is not status:bytes:reason`);
    }
    let reason;
    if (parts[2] === '-') reason = null;
    else if (parts[2].startsWith('+')) reason = parts[2].slice(1);
    else throw new Error(`the reason of ${JSON.stringify(item)} is neither - nor +...`);
    return { status: Number(parts[0]), bytes: BigInt(parts[1]), reason };
  });
}

function below(path, directory) {
  return path.length > directory.length && path.startsWith(directory)
    && path[directory.length] === '/';
}

function phase() {
  return { filesRemoved: 0n, bytesFreed: 0n, directoriesRemoved: 0n };
}

/** The error to throw for a cleanup setting no configuration would produce. */
export function invalidSetting(field, value, expected) {
  const error = new Error(`cleanup setting ${field}=${value} is invalid: expected ${expected}`);
  error.payload = {
    kind: { tag: 'validation', val: { field, value: String(value) } },
    message: error.message,
    errorCode: 'VALIDATION_ERROR',
    details: [['field', field], ['value', String(value)]],
  };
  return error;
}

/** One call of `cleanup.run`: the areas to clean and the report being built. */
export class CleanupRun {
  constructor(options) {
    this.now = Number(options.now);
    this.force = options.force;
    this.dryRun = options.dryRun;
    this.maxSamples = options.maxSamples;
    this.report_ = {
      temporaryFiles: phase(),
      cacheCleanup: phase(),
      areas: [],
      directoriesProcessed: 0n,
      skippedInUse: 0n,
      vanished: 0n,
      errors: [],
      errorCount: 0n,
      dryRun: options.dryRun,
      removals: [],
    };
    this.current = null;
  }

  /** The managed areas, in the host's order; each one's totals end when the next starts. */
  *areas() {
    for (const name of hostAreas()) {
      this.end();
      this.current = new Area(this, name);
      yield this.current;
    }
  }

  end() {
    const area = this.current;
    this.current = null;
    if (area === null) return;
    area.flush();
    area.ended = true;
    for (const key of ['temporaryFiles', 'cacheCleanup']) {
      const total = this.report_[key];
      const part = area.report[key];
      total.filesRemoved += part.filesRemoved;
      total.bytesFreed += part.bytesFreed;
      total.directoriesRemoved += part.directoriesRemoved;
    }
    this.report_.areas.push(area.report);
  }

  problem(area, path, reason) {
    this.report_.errorCount += 1n;
    if (this.report_.errors.length < this.maxSamples) this.report_.errors.push({ area, path, reason });
  }

  inUse() {
    this.report_.skippedInUse += 1n;
  }

  /** Whether `entry` is strictly older than `hours` at `now` (always, in a forced run). */
  isOld(entry, hours) {
    return this.force || Math.max(this.now - entry.mtime, 0) > hours * 3600;
  }

  /** The finished `cleanup-report` (sends what is still queued). */
  report() {
    this.end();
    return this.report_;
  }
}

/** One managed area during a run: its scans, its removal batches, its totals. */
export class Area {
  constructor(run, name) {
    this.run = run;
    this.name = name;
    this.report = {
      area: name,
      entriesScanned: 0n,
      temporaryFiles: phase(),
      cacheCleanup: phase(),
    };
    this.ended = false;
    this.processed = false;
    /** Whether the last walk could not scan the area (the problem is in the report). */
    this.scanFailed = false;
    this.reason = 'age';
    this.queue = [];
    this.counted = new Set(); // locked directories already counted in skipped-in-use
    this.left = 0; // bytes of regular files the last walk listed that stay
    this.kept = 0; // bytes of regular files the host kept although asked to remove them
  }

  alive() {
    if (this.ended) throw new Error(`area ${this.name} is finished: another area has started`);
  }

  /**
   * Every entry below the area, a scan page at a time: files, links and other entries as the
   * host lists them, each directory once everything below it has been seen. Problems the scan
   * meets go into the report; an area that cannot be scanned yields nothing.
   */
  *walk(pageSize = PAGE) {
    this.alive();
    let scan;
    try {
      scan = openScan(this.name);
    } catch (error) {
      const failure = error?.payload ?? error;
      const reason = failure?.tag === 'unknown-area' ? `unknown area \`${failure.val}\``
        : String(failure?.val ?? failure);
      this.run.problem(this.name, '', reason);
      this.scanFailed = true;
      return;
    }
    this.scanFailed = false;
    if (!this.processed) {
      this.processed = true;
      this.run.report_.directoriesProcessed += 1n;
    }
    this.flush();
    this.left = 0;
    this.kept = 0;
    const stack = [];
    let last = null;
    try {
      for (;;) {
        const page = scan.next(pageSize);
        const entries = unpackEntries(page.entries);
        this.report.entriesScanned += BigInt(entries.length);
        for (const problem of page.problems) this.run.problem(this.name, problem.path, problem.reason);
        for (const entry of entries) {
          this.settle(last, stack);
          last = null;
          while (stack.length > 0 && !below(entry.path, stack[stack.length - 1].path)) {
            const finished = stack.pop();
            yield finished;
            this.settle(finished, stack);
          }
          if (stack.length > 0) entry.holder = stack[stack.length - 1].holder;
          if (entry.kind === DIRECTORY) {
            if (entry.locked && entry.holder === null) entry.holder = entry.path;
            stack.push(entry);
          } else {
            yield entry;
            last = entry;
          }
        }
        if (page.done) break;
      }
    } finally {
      const dispose = scan[Symbol.dispose ?? Symbol.for('dispose')];
      if (typeof dispose === 'function') dispose.call(scan);
    }
    this.settle(last, stack);
    while (stack.length > 0) {
      const finished = stack.pop();
      yield finished;
      this.settle(finished, stack);
    }
  }

  /** Counts what the caller decided about `entry`: what stays keeps its directory. */
  settle(entry, stack) {
    if (entry === null || entry.going) return;
    if (stack.length > 0) stack[stack.length - 1].emptied = false;
    if (entry.kind === FILE) this.left += entry.size;
  }

  /**
   * Queues `entry` for removal for `reason` (`age` or `cache-cap`). An entry the host would
   * refuse because of a lock is kept and counted in `skipped-in-use`; returns whether the
   * entry was queued.
   */
  remove(entry, reason = 'age') {
    this.alive();
    if (!REASONS.includes(reason)) throw new Error(`reason ${reason} is not one of ${REASONS}`);
    if (entry.held) {
      if (entry.holder === null) {
        this.run.inUse();
      } else if (!this.counted.has(entry.holder)) {
        this.counted.add(entry.holder);
        this.run.inUse();
      }
      return false;
    }
    if (entry.going) return true;
    if (reason !== this.reason) {
      this.flush();
      this.reason = reason;
    }
    entry.going = true;
    this.queue.push(entry);
    if (this.queue.length >= BATCH) this.flush();
    return true;
  }

  /**
   * Bytes of the regular files the last walk listed that are still there (in a dry run: would
   * be) after its removals: those not removed and those the host kept.
   */
  bytesLeft() {
    this.flush();
    return this.left + this.kept;
  }

  /** Sends the queued removals and counts their outcomes. */
  flush() {
    if (this.queue.length === 0) return;
    const queue = this.queue;
    this.queue = [];
    const { reason, run } = this;
    const outcomes = unpackOutcomes(hostRemove(this.name, reason, packPaths(queue.map((e) => e.path))));
    if (outcomes.length !== queue.length) {
      run.problem(this.name, '', `the host answered ${outcomes.length} outcomes for ${queue.length} paths`);
    }
    const phaseReport = reason === 'age' ? this.report.temporaryFiles : this.report.cacheCleanup;
    const count = Math.min(queue.length, outcomes.length);
    for (let i = 0; i < count; i += 1) {
      const entry = queue[i];
      const outcome = outcomes[i];
      let kept = true;
      if (outcome.status === REMOVED) {
        kept = false;
        if (entry.kind === DIRECTORY) phaseReport.directoriesRemoved += 1n;
        else phaseReport.filesRemoved += 1n;
        phaseReport.bytesFreed += outcome.bytes;
        if (run.report_.removals.length < run.maxSamples) {
          run.report_.removals.push({ area: this.name, path: entry.path, bytes: outcome.bytes, reason });
        }
      } else if (outcome.status === VANISHED) {
        kept = false;
        run.report_.vanished += 1n;
      } else if (outcome.status === IN_USE) {
        run.inUse();
      } else if (outcome.status === REFUSED || outcome.status === FAILED) {
        run.problem(this.name, entry.path, outcome.reason ?? 'not removed');
      }
      if (kept && entry.kind === FILE) this.kept += entry.size;
    }
  }
}

/**
 * Bytes per range of keys (integers `lo..=hi`, at most 2^53) in at most BUCKETS buckets:
 * when more are in use, neighbours merge.
 */
export class Histogram {
  constructor(lo, hi) {
    this.lo = lo;
    this.hi = hi;
    this.width = 1;
    this.buckets = new Map();
  }

  /** Counts `bytes` at `key`; keys outside the range are ignored. */
  add(key, bytes) {
    if (key < this.lo || key > this.hi) return;
    const bucket = Math.floor((key - this.lo) / this.width);
    this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + bytes);
    while (this.buckets.size > BUCKETS) {
      this.width *= 2;
      const old = this.buckets;
      this.buckets = new Map();
      for (const [index, sum] of old) {
        const merged = Math.floor(index / 2);
        this.buckets.set(merged, (this.buckets.get(merged) ?? 0) + sum);
      }
    }
  }

  /**
   * The bucket where the running total (from the lowest key) first reaches `need` bytes:
   * `{lo, hi, before}` with `before` the bytes below `lo`; null when all of it is less.
   */
  crossing(need) {
    let before = 0;
    for (const index of [...this.buckets.keys()].sort((a, b) => a - b)) {
      const bytes = this.buckets.get(index);
      if (before + bytes >= need) {
        const lo = this.lo + index * this.width;
        return { lo, hi: Math.min(lo + this.width - 1, this.hi), before };
      }
      before += bytes;
    }
    return null;
  }
}

/**
 * Which files to evict to free `need` bytes, smallest key first: `keyOf(entry)` is an
 * evictable entry's key, or null for one that may not go; `histogram` holds the evictable bytes
 * the caller counted by key. While the bucket that holds the cut-off spans several keys, the
 * area is scanned again over that bucket only (at most `maxScans` times). Returns
 * `{lo, hi, bytes}`: every key below `lo` goes, and keys `lo..=hi` in walk order until `bytes`
 * of them went; null when a scan failed.
 */
export function findCut(area, histogram, need, keyOf, maxScans = 6) {
  let below = 0;
  for (let scans = 0; ; scans += 1) {
    const crossing = histogram.crossing(need - below);
    if (crossing === null) return { lo: histogram.hi, hi: histogram.hi, bytes: Infinity };
    below += crossing.before;
    if (crossing.lo === crossing.hi || scans >= maxScans) {
      return { lo: crossing.lo, hi: crossing.hi, bytes: need - below };
    }
    const narrow = new Histogram(crossing.lo, crossing.hi);
    for (const entry of area.walk()) {
      const key = keyOf(entry);
      if (key !== null) narrow.add(key, entry.size);
    }
    if (area.scanFailed) return null;
    histogram = narrow;
  }
}
