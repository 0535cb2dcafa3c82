import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, expectDuration, expectSize } from '../../src/config/config-reader';
import { messageLimits, parseServerConfig } from '../../src/config/server-config';

const BASE = '/srv/rustexec';
const parse = (v: unknown) => parseServerConfig(typeof v === 'string' ? v : JSON.stringify(v), BASE, 'config');

/** Asserts that parsing fails with a ConfigError whose message matches every pattern. */
function rejects(v: unknown, ...patterns: (RegExp | string)[]): void {
  assert.throws(
    () => parse(v),
    (err: Error) => {
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
      for (const p of patterns) typeof p === 'string' ? assert.ok(err.message.includes(p), `"${err.message}" should mention ${p}`) : assert.match(err.message, p);
      return true;
    },
  );
}

const instance = (cas: unknown, ac: unknown = { memory: {} }) => ({ instances: { main: { cas, ac } } });

describe('server config', () => {
  it('falls back to one default instance on local disk when no instances are configured', () => {
    const c = parse({});
    assert.equal(c.listen, '127.0.0.1:8980');
    assert.deepEqual(Object.keys(c.instances), ['']);
    assert.equal(c.instances[''].digestFunction, 'sha256');
  });

  it('reads a nested storage tree with sizes and durations, resolving paths against the config directory', () => {
    const c = parse(`{
      // JSON5: comments and trailing commas are fine
      listen: "0.0.0.0:9000",
      maxBatchTotalSizeBytes: "4MiB",
      uploadIdle: "5m",
      instances: {
        main: {
          cas: { existenceCaching: { backend: { verifying: { filesystem: { path: "data/cas", maxBytes: "50gb" } } }, ttl: "30s", maxEntries: 1000 } },
          ac: { filesystem: { path: "/abs/ac" } },
        },
      },
    }`);
    assert.equal(c.listen, '0.0.0.0:9000');
    assert.equal(c.maxBatchTotalSizeBytes, 4 * 1024 * 1024);
    assert.equal(c.uploadIdleMs, 300_000);
    assert.deepEqual(c.instances.main.cas, {
      existenceCaching: { backend: { verifying: { filesystem: { path: path.join(BASE, 'data/cas'), maxBytes: 50e9 } } }, maxEntries: 1000, ttlMs: 30_000 },
    });
    assert.deepEqual(c.instances.main.ac, { filesystem: { path: '/abs/ac', maxBytes: 1024 ** 3 } });
  });

  it('reads maxEntries of the filesystem CAS and AC (absent: the default of each store), refusing one below 1', () => {
    const c = parse(instance({ filesystem: { path: '/cas', maxBytes: '1GiB', maxEntries: 5000 } }, { filesystem: { path: '/ac', maxEntries: 700 } }));
    assert.deepEqual(c.instances.main.cas, { filesystem: { path: '/cas', maxBytes: 1024 ** 3, maxEntries: 5000 } });
    assert.deepEqual(c.instances.main.ac, { filesystem: { path: '/ac', maxBytes: 1024 ** 3, maxEntries: 700 } });
    rejects(instance({ filesystem: { path: '/cas', maxBytes: 1, maxEntries: 0 } }), 'config.instances["main"].cas.filesystem.maxEntries: expected an integer ≥ 1');
  });

  it('reads maxEntries of the memory CAS and AC (absent: the default of each store), refusing one below 1', () => {
    const c = parse(instance({ memory: { maxBytes: '1GiB', maxEntries: 5000 } }, { memory: { maxEntries: 700 } }));
    assert.deepEqual(c.instances.main.cas, { memory: { maxBytes: 1024 ** 3, maxEntries: 5000 } });
    assert.deepEqual(c.instances.main.ac, { memory: { maxBytes: 256 * 1024 ** 2, maxEntries: 700 } });
    const d = parse(instance({ memory: { maxBytes: 1 } }));
    assert.deepEqual([d.instances.main.cas, d.instances.main.ac], [{ memory: { maxBytes: 1 } }, { memory: { maxBytes: 256 * 1024 ** 2 } }]);
    rejects(instance({ memory: { maxBytes: 1, maxEntries: 0 } }), 'config.instances["main"].cas.memory.maxEntries: expected an integer ≥ 1');
    rejects(instance({ memory: { maxBytes: 1 } }, { memory: { maxEntries: -3 } }), 'config.instances["main"].ac.memory.maxEntries: expected an integer ≥ 1');
  });

  it('fails on an unknown top-level key, naming it and the allowed keys', () => {
    rejects({ listen: '127.0.0.1:1', lisen: 'typo' }, 'config: unknown key "lisen"', /allowed: listen, /);
  });

  it('fails on an unknown nested key with the full path to it', () => {
    rejects(instance({ filesystem: { path: 'x', maxBytes: '1gb', maxbytes: '2gb' } }), 'config.instances["main"].cas.filesystem: unknown key "maxbytes"');
    rejects(instance({ verifying: { memory: { maxBytes: 1, ttl: '1s' } } }), 'config.instances["main"].cas.verifying.memory: unknown key "ttl"');
    rejects(instance({ gcs: {} }), 'config.instances["main"].cas: unknown key "gcs"');
    rejects({ instances: { main: { cas: { memory: { maxBytes: 1 } }, ac: { memory: {} }, acc: {} } } }, 'config.instances["main"]: unknown key "acc"');
  });

  it('fails when a required key is missing, saying which', () => {
    rejects(instance({ filesystem: { path: 'x' } }), 'config.instances["main"].cas.filesystem', '"maxBytes"', 'required');
    rejects(instance({ memory: {} }), 'config.instances["main"].cas.memory', '"maxBytes" is required');
    rejects({ instances: { main: { cas: { memory: { maxBytes: 1 } } } } }, 'config.instances["main"]', '"ac" are required');
    rejects(instance({ existenceCaching: { ttl: '1s' } }), 'config.instances["main"].cas.existenceCaching', '"backend" is required');
    rejects(instance({}), 'config.instances["main"].cas: expected exactly one of');
  });

  it('fails on wrongly typed values with the path and what was expected', () => {
    rejects({ instances: null }, 'config.instances: expected an object');
    rejects({ acUpdateEnabled: 'yes' }, 'config.acUpdateEnabled: expected true or false');
    rejects({ maxInlineBytes: '12 parsecs' }, 'config.maxInlineBytes: expected a size', '"12 parsecs"');
    rejects({ uploadIdle: '10' }, 'config.uploadIdle: expected a duration');
    rejects(instance({ existenceCaching: { backend: { memory: { maxBytes: 1 } }, ttl: '0s' } }), 'config.instances["main"].cas.existenceCaching.ttl', 'at least 1ms');
    rejects({ instances: { main: { digestFunction: 'md5', cas: { memory: { maxBytes: 1 } }, ac: { memory: {} } } } }, 'digestFunction', 'md5');
    rejects('{ not json', 'config: not valid JSON5');
  });

  it('reads an instance\'s default digest function and the list requests may select', () => {
    const mem = { cas: { memory: { maxBytes: 1 } }, ac: { memory: {} } };
    const c = parse({ instances: { buck: { digestFunction: 'BLAKE3', digestFunctions: ['blake3', 'sha256'], ...mem }, all: mem } });
    assert.equal(c.instances.buck.digestFunction, 'blake3');
    assert.deepEqual(c.instances.buck.digestFunctions, ['blake3', 'sha256']);
    assert.equal(c.instances.all.digestFunctions, undefined, 'absent: every function the server implements');
    rejects({ instances: { x: { digestFunctions: ['sha256', 'md5'], ...mem } } }, 'config.instances["x"].digestFunctions[1]', 'md5', 'supported: sha256, sha1, sha384, sha512, blake3, sha256tree');
    rejects({ instances: { x: { digestFunction: 'blake3', digestFunctions: ['sha256'], ...mem } } }, 'must include the default', 'blake3');
    rejects({ instances: { x: { digestFunctions: [], ...mem } } }, 'non-empty list');
  });

  it('refuses instance names that would collide with resource-name segments', () => {
    rejects({ instances: { 'a/blobs': { cas: { memory: { maxBytes: 1 } }, ac: { memory: {} } } } }, 'reserved segment');
  });
});

describe('config sizes and durations', () => {
  it('parses sizes in decimal and binary units, case-insensitively, and plain byte counts', () => {
    const cases: [unknown, number][] = [
      [1048576, 1048576],
      ['100', 100],
      ['100b', 100],
      ['100mb', 100e6],
      ['50GB', 50e9],
      ['512MiB', 512 * 1024 ** 2],
      ['1.5 GiB', 1.5 * 1024 ** 3],
      ['2tib', 2 * 1024 ** 4],
      [' 8kb ', 8000],
    ];
    for (const [input, bytes] of cases) assert.equal(expectSize(input, 'x'), bytes, `${JSON.stringify(input)}`);
  });

  it('rejects negative, fractional-number, unitless-garbage and unknown-unit sizes', () => {
    for (const bad of [-1, 1.5, '-5mb', '5 furlongs', 'mb', '', true, null]) assert.throws(() => expectSize(bad, 'cas.maxBytes'), /cas\.maxBytes: expected /, String(bad));
  });

  it('parses durations as milliseconds', () => {
    const cases: [unknown, number][] = [
      [250, 250],
      ['250ms', 250],
      ['30s', 30_000],
      ['1.5s', 1500],
      ['5m', 300_000],
      ['2h', 7_200_000],
    ];
    for (const [input, ms] of cases) assert.equal(expectDuration(input, 'x'), ms, `${JSON.stringify(input)}`);
  });

  it('rejects durations without a unit or with an unknown one', () => {
    for (const bad of ['30', '3d', 'soon', -5, '1m30s']) assert.throws(() => expectDuration(bad, 'uploadIdle'), /uploadIdle: expected (a duration|an integer)/, String(bad));
  });

  it('reads per-client limits with defaults that stay above what Bazel does', () => {
    const d = parse({});
    assert.deepEqual(d.limits, { maxConcurrentCalls: 10_000, idleTimeoutMs: 60_000, retryDelayMs: 1000, clients: {} });
    assert.deepEqual(messageLimits(d), { defaultBytes: d.maxBatchTotalSizeBytes + 1024 * 1024, ceilingBytes: d.maxBatchTotalSizeBytes + 1024 * 1024 });
    const c = parse({ limits: { maxConcurrentCalls: 500, maxMessageSize: '8MiB', idleTimeout: '30s', retryDelay: '250ms', clients: { ci: { maxConcurrentCalls: 4000, maxMessageSize: '64MiB' }, '10.0.0.7': { maxConcurrentCalls: 10 } } } });
    assert.deepEqual(c.limits, { maxConcurrentCalls: 500, maxMessageBytes: 8 * 1024 ** 2, idleTimeoutMs: 30_000, retryDelayMs: 250, clients: { ci: { maxConcurrentCalls: 4000, maxMessageBytes: 64 * 1024 ** 2 }, '10.0.0.7': { maxConcurrentCalls: 10 } } });
    assert.deepEqual(messageLimits(c), { defaultBytes: 8 * 1024 ** 2, ceilingBytes: 64 * 1024 ** 2 });
    assert.equal(parse({ limits: { idleTimeout: 0 } }).limits.idleTimeoutMs, 0, '0 turns the idle timeout off');
  });

  it('refuses limits that would break clients following the server\'s own rules', () => {
    rejects({ limits: { maxConcurrentCalls: 0 } }, 'config.limits.maxConcurrentCalls: expected an integer ≥ 1');
    rejects({ limits: { maxMessageSize: '1MiB' } }, 'config.limits.maxMessageSize: 1048576 bytes is below maxBatchTotalSizeBytes');
    rejects({ limits: { clients: { ci: { maxMessageSize: '1kb' } } } }, 'config.limits.clients["ci"].maxMessageSize: 1000 bytes is below maxBatchTotalSizeBytes');
    rejects({ limits: { clients: { ci: { maxCalls: 3 } } } }, 'config.limits.clients["ci"]: unknown key "maxCalls"');
    rejects({ limits: { idleTimeout: '10s' } }, 'config.limits.idleTimeout: 10000 ms is below 3 × execution.heartbeatInterval (5000 ms)');
    assert.equal(parse({ limits: { idleTimeout: '10s' }, execution: { heartbeatInterval: '2s' } }).limits.idleTimeoutMs, 10_000);
  });
});
