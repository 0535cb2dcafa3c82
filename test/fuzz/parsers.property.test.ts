import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import Long from 'long';
import { TokenStore } from '../../src/auth/token-store';
import { ConfigError, expectDuration, expectSize } from '../../src/config/config-reader';
import { parseServerConfig } from '../../src/config/server-config';
import { Digest } from '../../src/digest/digest';
import { SHA1, SHA256 } from '../../src/digest/digest-function';
import { parseReadResourceName, parseWriteResourceName } from '../../src/digest/resource-name';
import { Code, StatusError } from '../../src/grpc/status-error';
import { encode, re } from '../../src/proto';
import { externs } from '../../src/rust/crate-deps';
import { locateParamFile } from '../../src/rust/param-file';
import { classifyCommand, withoutQuitFlag } from '../../src/rust/rustc-command';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 2000);
const run = <T>(prop: fc.IProperty<T> | fc.IAsyncProperty<T>) => fc.assert(prop as fc.IAsyncProperty<T>, { numRuns: RUNS });

/** Throws only INVALID_ARGUMENT StatusErrors: the one way a parser at the RPC boundary may reject input. */
function rejectsCleanly(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    assert.ok(err instanceof StatusError, `threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    assert.equal(err.code, Code.INVALID_ARGUMENT);
    return false;
  }
}

const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
const segment = fc.string({ unit: fc.constantFrom(...'abcXYZ09-_.'), minLength: 1, maxLength: 8 });
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });

describe('property: digests', () => {
  it('accept exactly lowercase hex of the function length with a safe non-negative size, and round-trip through the proto', () =>
    run(
      fc.property(fc.oneof(hex(64), hex(40), hex(64).map((h) => `${h.slice(0, 9).toUpperCase()}${h.slice(9)}`), hex(63), fc.string()), fc.oneof(int64, fc.integer({ min: 0, max: 1 << 30 }).map(BigInt)), fc.constantFrom(SHA256, SHA1), (hash, size, fn) => {
        const long = Long.fromString(size.toString());
        const ok = rejectsCleanly(() => Digest.of(hash, long, fn));
        const valid = hash.length === fn.hexLength && /^[0-9a-f]+$/.test(hash) && size >= 0n && size <= BigInt(Number.MAX_SAFE_INTEGER);
        assert.equal(ok, valid, `${hash}/${size}`);
        if (valid) {
          const d = Digest.of(hash, long, fn);
          assert.ok(Digest.fromProto(re.Digest.decode(encode(re.Digest, d.toProto())), fn).equals(d));
        }
      }),
    ));

  it('refuse decimal strings past 2^53 instead of wrapping them', () =>
    run(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 70n }), (n) => {
        assert.equal(rejectsCleanly(() => Digest.of('a'.repeat(64), n.toString(), SHA256)), n <= BigInt(Number.MAX_SAFE_INTEGER));
      }),
    ));
});

describe('property: ByteStream resource names', () => {
  const instance = fc.array(segment, { maxLength: 3 }).filter((s) => !s.some((p) => ['blobs', 'uploads'].includes(p)));
  it('parse what they format, for read and upload names', () =>
    run(
      fc.property(instance, hex(64), fc.nat(), segment, fc.array(segment, { maxLength: 2 }), (inst, hash, size, uuid, meta) => {
        const prefix = inst.length ? `${inst.join('/')}/` : '';
        const r = parseReadResourceName(`${prefix}blobs/${hash}/${size}`);
        assert.deepEqual([r.instance, r.hash, r.size], [inst.join('/'), hash, String(size)]);
        const w = parseWriteResourceName([`${prefix}uploads/${uuid}/blobs/${hash}/${size}`, ...meta].join('/'));
        assert.deepEqual([w.instance, w.uploadId, w.hash, w.size], [inst.join('/'), uuid, hash, String(size)]);
      }),
    ));

  it('reject anything else with INVALID_ARGUMENT, never a crash', () =>
    run(
      fc.property(fc.oneof(fc.string(), fc.array(fc.oneof(segment, fc.constantFrom('blobs', 'uploads', 'compressed-blobs', 'zstd', 'blake3', '', '-1', '18446744073709551617'))).map((a) => a.join('/'))), (name) => {
        rejectsCleanly(() => parseReadResourceName(name));
        rejectsCleanly(() => parseWriteResourceName(name));
      }),
    ));
});

describe('property: config', () => {
  const json = fc.jsonValue({ maxDepth: 4 });
  const configish = fc.record(
    {
      listen: fc.oneof(fc.string(), json),
      maxBatchTotalSizeBytes: fc.oneof(fc.nat(), fc.string(), json),
      uploadIdle: fc.oneof(fc.string(), fc.nat(), json),
      instances: fc.oneof(json, fc.dictionary(fc.string(), fc.record({ cas: json, ac: json, digestFunction: fc.oneof(fc.constantFrom('sha256', 'sha1', 'md5'), json) }, { requiredKeys: [] }))),
      execution: fc.oneof(json, fc.record({ defaultTimeout: fc.oneof(fc.string(), fc.integer()), rustFusion: json }, { requiredKeys: [] })),
      auth: json,
      tls: json,
      bogus: json,
    },
    { requiredKeys: [] },
  );

  it('a config file either parses or fails with a ConfigError naming where', () =>
    run(
      fc.property(fc.oneof(configish, json), (cfg) => {
        try {
          parseServerConfig(JSON.stringify(cfg) ?? 'null', '/tmp/base');
        } catch (err) {
          assert.ok(err instanceof ConfigError, `threw ${(err as Error).constructor.name}: ${(err as Error).message}`);
          assert.match(err.message, /^config[.:[]/);
        }
      }),
    ));

  it('sizes and durations: numbers with units scale, anything else is a ConfigError', () =>
    run(
      fc.property(fc.nat({ max: 1_000_000 }), fc.constantFrom(['', 1], ['kb', 1e3], ['MiB', 1024 ** 2], ['gb', 1e9]), fc.oneof(fc.string(), fc.double(), json), (n, [unit, scale], junk) => {
        assert.equal(expectSize(`${n}${unit as string}`, 'x'), Math.floor(n * (scale as number)));
        assert.equal(expectDuration(`${n}s`, 'x'), n * 1000);
        for (const read of [expectSize, expectDuration]) {
          try {
            const v = read(junk, 'x');
            assert.ok(Number.isSafeInteger(v) && v >= 0, `${JSON.stringify(junk)} → ${v}`);
          } catch (err) {
            assert.ok(err instanceof ConfigError);
          }
        }
      }),
    ));

  it('a tokens file either parses or fails with a ConfigError', () =>
    run(
      fc.property(fc.oneof(json, fc.record({ clients: fc.array(fc.record({ name: json, token: fc.oneof(fc.string(), json), instances: json }, { requiredKeys: [] })), workers: json }, { requiredKeys: [] })), (v) => {
        try {
          TokenStore.parse(JSON.stringify(v) ?? 'null', 'tokens');
        } catch (err) {
          assert.ok(err instanceof ConfigError, `threw ${(err as Error).constructor.name}: ${(err as Error).message}`);
        }
      }),
    ));
});

describe('property: rustc commands and param files', () => {
  const arg = fc.oneof(
    fc.string(),
    fc.constantFrom('--', 'rustc', '/x/bin/rustc', 'process_wrapper', '--rustc-quit-on-rmeta', 'true', '--crate-name', '--crate-type', 'proc-macro', '--extern', '--extern=a=b.rlib', '@params', '@'),
  );
  const output = fc.oneof(fc.string(), fc.constantFrom('libx-1.rmeta', 'libx-1.rlib', 'liby.so', 'bin', 'x.a', 'out/libz-2.rmeta'));
  const command = fc.record({ arguments: fc.array(arg, { maxLength: 12 }), outputFiles: fc.array(output, { maxLength: 3 }), outputPaths: fc.array(output, { maxLength: 2 }) });

  it('classification never throws, names a known kind, and a quit flag only ever marks a metadata action', () =>
    run(
      fc.property(command, (c) => {
        const rc = classifyCommand(re.Command.create(c));
        assert.ok(['rustc-metadata', 'rustc-rlib', 'rustc-bin', 'rustc-proc-macro', 'other'].includes(rc.kind));
        if (rc.kind === 'rustc-metadata') assert.ok(rc.rmetaPath?.endsWith('.rmeta') && rc.pairArgv && !rc.pairArgv.includes('--rustc-quit-on-rmeta'));
        assert.deepEqual(withoutQuitFlag(withoutQuitFlag(c.arguments)), withoutQuitFlag(c.arguments));
      }),
    ));

  it('a rules_rust metadata action and its rlib partner get the same pair argv, whatever their flags', () =>
    run(
      fc.property(fc.array(fc.string().filter((s) => !s.startsWith('@') && s !== '--' && s !== '--rustc-quit-on-rmeta'), { maxLength: 8 }), segment, (flags, crate) => {
        const wrapper = ['bazel-out/k8/bin/process_wrapper', '--subst', 'pwd=${pwd}'];
        const rustc = ['--', 'external/rust/bin/rustc', ...flags];
        const meta = classifyCommand(re.Command.create({ arguments: [...wrapper, '--rustc-quit-on-rmeta', 'true', ...rustc, '@m.params'], outputFiles: [`lib${crate}-1.rmeta`] }));
        const full = classifyCommand(re.Command.create({ arguments: [...wrapper, ...rustc, '@r.params'], outputFiles: [`lib${crate}-1.rlib`, `lib${crate}-1.rmeta`] }));
        assert.equal(meta.kind, 'rustc-metadata');
        assert.equal(full.kind, 'rustc-rlib');
        assert.deepEqual(meta.pairArgv, full.pairArgv);
        assert.equal(meta.rlibPath, full.rlibPath);
      }),
    ));

  it('--extern parsing of any param file text never throws and yields only named crates', () =>
    run(
      fc.property(fc.array(fc.oneof(arg, fc.string().map((s) => `--extern=${s}`))), (args) => {
        for (const d of externs(args)) assert.ok(d.crate.length > 0 && (d.needs === 'rmeta' || d.needs === 'rlib'));
      }),
    ));

  it('locating a param file in any input tree finds it exactly where it is, or reports none', () =>
    fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.array(segment, { maxLength: 3 }), fc.boolean(), async (where, cwd, present) => {
        // Builds the input tree bottom-up with the param file at `where` (or a different name), then looks it up from `cwd`.
        const blobs = new Map<string, Buffer>();
        const store = (bytes: Buffer) => {
          const d = Digest.compute(bytes, SHA256);
          blobs.set(d.key, bytes);
          return d;
        };
        const params = store(Buffer.from('--extern=a=liba.rmeta\n'));
        const leaf = where.at(-1)!;
        let dir = store(encode(re.Directory, re.Directory.create({ files: [{ name: present ? leaf : `${leaf}.other`, digest: params.toProto() }] })));
        for (const name of where.slice(0, -1).reverse()) dir = store(encode(re.Directory, re.Directory.create({ directories: [{ name, digest: dir.toProto() }] })));
        const rel = where.slice(cwd.length).join('/');
        const inCwd = cwd.every((c, i) => where[i] === c) && where.length > cwd.length;
        const rc = { kind: 'rustc-rlib' as const, paramFile: rel };
        const found = await locateParamFile(async (d) => blobs.get(d.key) ?? Promise.reject(new StatusError(Code.NOT_FOUND, 'x')), cwd.join('/'), rc, dir);
        if (present && inCwd && !where.includes('.')) assert.ok(found?.digest.equals(params));
        else if (!present) assert.equal(found, undefined);
      }),
      { numRuns: Math.min(RUNS, 500) },
    ));
});
