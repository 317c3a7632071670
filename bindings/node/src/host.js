/**
 * A Node host for the bachata-common policy component.
 *
 * `npm run transpile` turns the component into JavaScript with jco (`gen/policy.js`, in the
 * "async instantiation" mode, so the host passes its imports in). This module lends those
 * imports and instantiates the policy:
 *
 * - `host-secrets`: the `secrets` function given to {@link instantiatePolicy};
 * - `host-fs`, `host-metrics`, `host-pose`: nothing. Functions whose WIT result has an error case
 *   answer with it (`"<capability> is not available in this host"`); the others throw
 *   {@link CapabilityUnavailable}, which traps the call and reaches its caller. Resource types
 *   (`host-fs`'s `scan`) are classes that no value is ever made of (`openScan` errs); their
 *   constructor and methods throw the same way.
 * - WASI through `@bytecodealliance/preview2-shim`, denied where the shim allows it: no
 *   environment variables, no arguments, no stdin, no exit. stdout and stderr are the process's.
 *
 * jco's shapes: record fields in camelCase (`errorCode`), variants as `{ tag, val }`, enums as
 * strings, options as the value or `undefined`, `u64` as `BigInt` (a `list<u64>` as a
 * `BigUint64Array`); an export's `result` error is thrown as a `ComponentError` whose `payload`
 * is the error value.
 *
 * @module
 */

import { readFile } from 'node:fs/promises';
import { cli, io, random } from '@bytecodealliance/preview2-shim';
import { instantiate } from '../gen/policy.js';

const GENERATED = new URL('../gen/', import.meta.url);

/** Compiled core modules, by file name: compiled once per process. */
const coreModules = new Map();

/**
 * Compiles one of the transpiled core modules, once.
 *
 * @param {string} name file name in `gen/`, for example `policy.core.wasm`
 * @returns {Promise<WebAssembly.Module>}
 */
function getCoreModule(name) {
  if (!coreModules.has(name)) {
    coreModules.set(name, readFile(new URL(name, GENERATED)).then((bytes) => WebAssembly.compile(bytes)));
  }
  return coreModules.get(name);
}

/**
 * What this host says about a capability it does not lend.
 *
 * @param {string} capability for example `host-fs`
 * @returns {string}
 */
function notAvailable(capability) {
  return `${capability} is not available in this host`;
}

/** Thrown (and so trapping the policy's call) when the policy needs a capability this host lacks. */
export class CapabilityUnavailable extends Error {
  /** @param {string} capability for example `host-fs` */
  constructor(capability) {
    super(notAvailable(capability));
    this.name = 'CapabilityUnavailable';
  }
}

/**
 * What an import throws to answer `err(value)`: jco takes a thrown value's `payload` as the
 * error case, and traps on anything else that is an `Error`.
 *
 * @param {unknown} value the error case's payload
 * @returns {Error}
 */
function errorResult(value) {
  return Object.assign(new Error(String(value?.val ?? value)), { payload: value });
}

/**
 * An import function that traps.
 *
 * @param {string} capability
 * @returns {() => never}
 */
function trap(capability) {
  return () => {
    throw new CapabilityUnavailable(capability);
  };
}

/**
 * `host-fs`'s `scan` resource, which jco imports as a class (`Scan`). The policy's imports name
 * it, so it must be given even though this host never makes one: `openScan` errs. Making one, or
 * asking one for a page, throws {@link CapabilityUnavailable} like the other `host-fs` functions.
 */
class UnavailableScan {
  constructor() {
    throw new CapabilityUnavailable('host-fs');
  }

  /**
   * `scan.next`: traps.
   *
   * @param {number} _max
   * @returns {never}
   */
  next(_max) {
    throw new CapabilityUnavailable('host-fs');
  }
}

/**
 * Secrets as the policy reads them: the latest value of secret `name` in project `project`,
 * `undefined` (or `null`) when it does not exist; throwing means the store could not be asked,
 * and the thrown message (never a secret value) is the reason.
 *
 * @callback SecretStore
 * @param {string} project Google Cloud project id
 * @param {string} name secret name, for example `elasticsearch-host`
 * @returns {string | null | undefined}
 */

/** @type {SecretStore} */
function noSecretStore() {
  throw new Error('this host has no secret store');
}

/**
 * `host-secrets.access` backed by `secrets`.
 *
 * @param {SecretStore} secrets
 * @returns {(project: string, name: string) => string | undefined}
 */
function accessThrough(secrets) {
  return (project, name) => {
    let value;
    try {
      value = secrets(project, name);
    } catch (error) {
      throw errorResult(String(error?.message ?? error));
    }
    if (value !== null && value !== undefined && typeof value !== 'string') {
      throw errorResult(`the secret store returned a ${typeof value}, not text`);
    }
    return value ?? undefined;
  };
}

/** WASI: the shim's streams and randomness; no environment, arguments, stdin or exit. */
const WASI = {
  'wasi:cli/environment': {
    getEnvironment: () => [],
    getArguments: () => [],
    initialCwd: () => undefined,
  },
  'wasi:cli/exit': {
    exit: () => {
      throw new Error('the policy may not exit the process');
    },
  },
  'wasi:cli/stdin': {
    getStdin: () => {
      throw new Error('stdin is not available to the policy');
    },
  },
  'wasi:cli/stdout': cli.stdout,
  'wasi:cli/stderr': cli.stderr,
  'wasi:cli/terminal-input': cli.terminalInput,
  'wasi:cli/terminal-output': cli.terminalOutput,
  'wasi:cli/terminal-stdin': cli.terminalStdin,
  'wasi:cli/terminal-stdout': cli.terminalStdout,
  'wasi:cli/terminal-stderr': cli.terminalStderr,
  'wasi:io/error': io.error,
  'wasi:io/poll': io.poll,
  'wasi:io/streams': io.streams,
  'wasi:random/insecure-seed': random.insecureSeed,
};

/**
 * The policy's exports, as jco generates them.
 *
 * @typedef {object} Policy
 * @property {object} errors `bachata:common/errors`
 * @property {object} config `bachata:common/config`
 * @property {object} cleanup `bachata:common/cleanup`
 * @property {object} pose `bachata:common/pose`
 * @property {object} monitor `bachata:common/monitor`
 * @property {object} events `bachata:common/events`
 * @property {object} experiments `bachata:common/experiments`
 * @property {object} organizer `bachata:common/organizer`
 * @property {object} couple `bachata:common/couple` (since contract 1.2.0): `update`,
 *   `leadFollow`, `iou`, `rate`
 */

/**
 * Instantiates the policy (a fresh instance; the compiled code is shared).
 *
 * @param {{ secrets?: SecretStore }} [options] `secrets` answers `host-secrets`
 * @returns {Promise<Policy>}
 */
export async function instantiatePolicy({ secrets = noSecretStore } = {}) {
  const imports = {
    ...WASI,
    'bachata:common/host-secrets': { access: accessThrough(secrets) },
    'bachata:common/host-fs': {
      Scan: UnavailableScan,
      areas: trap('host-fs'),
      openScan: () => {
        throw errorResult({ tag: 'io', val: notAvailable('host-fs') });
      },
      remove: trap('host-fs'),
    },
    'bachata:common/host-metrics': { snapshot: trap('host-metrics') },
    'bachata:common/host-pose': {
      infer: () => {
        throw errorResult(notAvailable('host-pose'));
      },
    },
  };
  const { errors, config, cleanup, pose, monitor, events, experiments, organizer, couple } = await instantiate(
    getCoreModule,
    imports,
  );
  return { errors, config, cleanup, pose, monitor, events, experiments, organizer, couple };
}
