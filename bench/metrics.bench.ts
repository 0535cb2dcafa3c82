import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import Long from 'long';
import { Digest } from '../src/digest/digest';
import { SHA256 } from '../src/digest/digest-function';
import { ByteStreamService, ContentAddressableStorageService } from '../src/grpc/service-definitions';
import { encode, re } from '../src/proto';
import { ServerProcess, startServerProcess } from '../test/e2e/server-process';
import { median, processCpuSecondsPrecise, report } from './bench-util';
import { call, Client, client, countEntries, elapsedMs, rawClient, readAll, writeAll } from './cache.bench';

const MiB = 1024 * 1024;
/** FindMissing calls per sample: one costs the server a few ms of CPU, too little to compare alone. */
const FMB_PER_SAMPLE = 5;

interface Side {
  server: ServerProcess;
  cas: Client;
  bs: Client;
  raw: Client;
  cpu: () => number;
}

async function start(dir: string, metrics: boolean): Promise<Side> {
  const server = await startServerProcess({ args: ['--data', dir, '--workers', '0', ...(metrics ? [] : ['--metrics=false'])] });
  return {
    server,
    cas: client(ContentAddressableStorageService, server.address),
    bs: client(ByteStreamService, server.address),
    raw: rawClient(server.address),
    cpu: () => processCpuSecondsPrecise(server.child.pid!),
  };
}

/** Wall ms and server CPU ms of one call of `fn` against `s`. */
async function measure(s: Side, fn: () => Promise<unknown>): Promise<{ ms: number; cpuMs: number }> {
  const c0 = s.cpu();
  const ms = await elapsedMs(fn);
  return { ms, cpuMs: (s.cpu() - c0) * 1000 };
}

/**
 * The cost of metrics on the hot path: the same server (all-in-one, default disk store) started twice, with metrics
 * (RPC interceptor, storage decorators on every node, process metrics) and with `--metrics=false` (none of that code
 * composed), measured alternately call by call: ByteStream read and write of 64 MiB, FindMissingBlobs of 10k digests
 * (half present). Reports on/off ratios of medians, for wall time and for server CPU (/proc; what others' compiles
 * disturb least). Goal: ≤ 1.03.
 */
export async function metricsBench(options: { rounds?: number } = {}): Promise<void> {
  const rounds = options.rounds ?? 15;
  const dirs = await Promise.all([0, 1].map(() => mkdtemp(path.join(os.tmpdir(), 'bench-metrics-'))));
  const on = await start(dirs[0], true);
  const off = await start(dirs[1], false);
  try {
    const blob = randomBytes(64 * MiB);
    const digest = Digest.compute(blob, SHA256);
    const stored = Array.from({ length: 5000 }, () => randomBytes(64));
    const fmb = encode(re.FindMissingBlobsRequest, re.FindMissingBlobsRequest.create({
      blobDigests: [...stored.map((b) => Digest.compute(b, SHA256).toProto()), ...Array.from({ length: 5000 }, () => re.Digest.create({ hash: randomBytes(32).toString('hex'), sizeBytes: Long.fromNumber(1000) }))],
    }));
    for (const s of [on, off]) {
      await writeAll(s.bs, blob, digest);
      for (let i = 0; i < stored.length; i += 1000) {
        const part = stored.slice(i, i + 1000);
        await call(s.cas, 'batchUpdateBlobs', re.BatchUpdateBlobsRequest.create({ requests: part.map((data) => ({ digest: Digest.compute(data, SHA256).toProto(), data })) }));
      }
    }
    // Each write uploads a fresh blob (an existing one would finish early).
    const writeOnce = (s: Side) => {
      const b = randomBytes(64 * MiB);
      const d = Digest.compute(b, SHA256);
      return () => writeAll(s.bs, b, d);
    };
    const rows: [string, (s: Side) => () => Promise<unknown>, number][] = [
      ['ByteStream read 64 MiB', (s) => () => readAll(s.bs, digest), rounds],
      ['ByteStream write 64 MiB', writeOnce, Math.min(rounds, 8)],
      [
        `FindMissingBlobs 10k (half present) ×${FMB_PER_SAMPLE}`,
        (s) => async () => {
          // Raw bytes both ways: the client's protobuf work would be most of the wall time.
          for (let i = 0; i < FMB_PER_SAMPLE; i++) if (countEntries(await call<Buffer>(s.raw, 'findMissingBlobs', fmb), 0x12) !== 5000) throw new Error('FindMissingBlobs answered wrongly');
        },
        rounds * 2,
      ],
    ];
    for (const [name, op, n] of rows) {
      for (const s of [on, off]) await op(s)(); // warm-up
      const m = { on: [] as { ms: number; cpuMs: number }[], off: [] as { ms: number; cpuMs: number }[] };
      for (let i = 0; i < n; i++) {
        // Alternate which goes first, so neither side always runs right after the other's garbage.
        const order: ['on' | 'off', Side][] = i % 2 ? [['off', off], ['on', on]] : [['on', on], ['off', off]];
        for (const [k, s] of order) m[k].push(await measure(s, op(s)));
      }
      const med = (xs: { ms: number; cpuMs: number }[], k: 'ms' | 'cpuMs') => median(xs.map((x) => x[k]));
      report(`metrics: ${name}, on / off wall`, med(m.on, 'ms') / med(m.off, 'ms'), '×', `${med(m.on, 'ms').toFixed(1)} / ${med(m.off, 'ms').toFixed(1)} ms (median of ${n})`);
      const pairRatios = m.on.map((x, i) => x.cpuMs / m.off[i].cpuMs);
      report(
        `metrics: ${name}, on / off server CPU`,
        med(m.on, 'cpuMs') / med(m.off, 'cpuMs'),
        '×',
        `${med(m.on, 'cpuMs').toFixed(1)} / ${med(m.off, 'cpuMs').toFixed(1)} ms; median of per-pair ratios ${median(pairRatios).toFixed(3)} (goal ≤ 1.03)`,
      );
    }
  } finally {
    for (const s of [on, off]) {
      s.cas.close();
      s.bs.close();
      s.raw.close();
      await s.server.stop();
    }
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

if (require.main === module) {
  // ROUNDS=n; run alone with: flock /tmp/rustexec-bench.lock node dist/bench/metrics.bench.js
  metricsBench({ rounds: Number(process.env.ROUNDS ?? 15) }).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
