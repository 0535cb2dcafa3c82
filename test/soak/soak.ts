import { credentials, makeGenericClientConstructor, ServiceError } from '@grpc/grpc-js';
import { promises as fsp, readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { ExecutionService } from '../../src/grpc/service-definitions';
import { encode, LongrunningPb, re, REv2 } from '../../src/proto';
import { startServerProcess } from '../e2e/server-process';
import { blobOf, readName, TestBlob } from '../helpers/blobs';
import { createClients } from '../helpers/clients';
import { scrape, sumOf } from '../helpers/prometheus-text';

export interface SoakMinute {
  minute: number;
  calls: number;
  errors: number;
  p99Ms: number;
  rssMiB: number;
  /** The server's JS heap in use (nodejs_heap_size_used_bytes on its /metrics): the lowest and highest sample. */
  heapMinMiB: number;
  heapMaxMiB: number;
  /**
   * The heap right after the interval's full (mark-compact) collections, the lowest (the server runs with --trace-gc):
   * the live data, without the garbage a /metrics sample may include. NaN when no full collection ran in the interval.
   */
  liveMiB: number;
  /** Full collections in the interval. */
  majorGcs: number;
  /** Evictions so far (cumulative, from /metrics): the CAS and the AC, evidence the cache was full and churning. */
  casEvictions: number;
  acEvictions: number;
}

export interface SoakReport {
  minutes: SoakMinute[];
  errors: string[];
  calls: number;
}

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/** The steady-state cache the soak runs against; every bound below is reached in the first minute or two. */
export interface SoakWorkload {
  /** Blobs (and AC keys) each client reuses, 1–32 KiB each: the working set, re-uploaded, re-found and re-read. */
  poolPerClient: number;
  /** Share of rounds that store a new blob and a new AC entry instead of a pooled one (the churn that evicts). */
  newShare: number;
  /** The filesystem CAS's maxBytes: small, so the new blobs evict (LRU) and the index stays bounded. */
  casMaxBytes: number;
  /** The file AC's maxEntries (the new results evict the least recently used). */
  acMaxEntries: number;
  /** The existence cache's ttl: well below how long a new blob survives eviction in this small CAS. */
  existenceTtl: string;
  /**
   * A client's last blobs it FindMissing's and reads from (each must be there: an error otherwise). Its new ones must
   * outlive this many of its rounds in the CAS, so a small CAS needs a short window.
   */
  recentBlobs: number;
}

export const STEADY_STATE: SoakWorkload = { poolPerClient: 16, newShare: 0.1, casMaxBytes: 24 * 1024 * 1024, acMaxEntries: 2048, existenceTtl: '10s', recentBlobs: 50 };

/** Client `id`'s pooled blob `k`: the same bytes every time (1–32 KiB, a SHA-256 of the name repeated). */
function pooledBlob(id: number, k: number): TestBlob {
  const seed = createHash('sha256').update(`soak ${id} ${k}`).digest();
  const size = 1 + (seed.readUInt32BE(0) % (32 * 1024));
  const data = Buffer.alloc(size);
  for (let at = 0; at < size; at += seed.length) seed.copy(data, at);
  return blobOf(data);
}

/**
 * `clients` concurrent loops against an all-in-one server with one local worker, each mixing FindMissingBlobs,
 * BatchUpdateBlobs, ByteStream reads, GetActionResult/UpdateActionResult and Execute of a small action, for
 * `durationMs`; per minute: calls, errors, p99 latency, the server's RSS and its JS heap. The heap is read from the
 * server's /metrics every `heapEveryMs`: a minute's lowest sample is the heap that survived garbage collection (what a
 * leak makes grow), its highest shows the garbage in between.
 *
 * The cache is in steady state (`workload`): each client draws its blobs and AC keys from a fixed pool, with a small
 * share of new ones, and the CAS and AC are small enough that the new ones evict old ones. So the stored data stops
 * growing early, and memory that keeps rising after warm-up is a leak, not a cache filling up.
 */
export async function soak(o: { durationMs: number; clients: number; dataDir: string; minuteMs?: number; heapEveryMs?: number; workload?: SoakWorkload; serverNodeArgs?: string[] }): Promise<SoakReport> {
  const w = o.workload ?? STEADY_STATE;
  await fsp.mkdir(o.dataDir, { recursive: true });
  const configFile = path.join(o.dataDir, 'soak-config.json');
  await fsp.writeFile(
    configFile,
    JSON.stringify({
      instances: {
        '': {
          cas: { existenceCaching: { ttl: w.existenceTtl, backend: { filesystem: { path: path.join(o.dataDir, 'cas'), maxBytes: w.casMaxBytes } } } },
          ac: { filesystem: { path: path.join(o.dataDir, 'ac'), maxEntries: w.acMaxEntries } },
        },
      },
    }),
  );
  const minuteMs = o.minuteMs ?? 60_000;
  const server = await startServerProcess({ args: ['--config', configFile, '--data', o.dataDir, '--workers', '1'], nodeArgs: ['--trace-gc', ...(o.serverNodeArgs ?? [])] });
  // --trace-gc prints `[pid:isolate] … Mark-Compact 61.2 (80.1) -> 21.3 (79.5) MB, …` per full collection (MB meaning
  // MiB). The local worker inherits the flag and writes to the same stdout: only the server's own pid counts.
  const ownGc = `[${server.child.pid}:`;
  let afterMajorGc: number[] = [];
  let partialLine = '';
  server.child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partialLine + chunk.toString('utf8')).split('\n');
    partialLine = lines.pop()!;
    for (const line of lines) {
      const m = line.startsWith(ownGc) && /Mark-Compact[^\d]*[\d.]+ \([\d.]+\) -> ([\d.]+) \(/.exec(line);
      if (m) afterMajorGc.push(Number(m[1]));
    }
  });
  const ready = await server.waitForLog('ready');
  const metricsUrl = `http://${String(ready.http)}/metrics`;
  let heap: number[] = [];
  const evictions = { cas: 0, ac: 0 };
  const heapSampler = setInterval(() => {
    scrape(metricsUrl).then(
      (page) => {
        heap.push(sumOf(page, 'nodejs_heap_size_used_bytes'));
        evictions.cas = sumOf(page, 'rustexec_evictions_total', { cache: 'cas_filesystem' });
        evictions.ac = sumOf(page, 'rustexec_evictions_total', { cache: 'action_cache' });
      },
      () => undefined, // a missed sample shows as a shorter list; the call loops count errors
    );
  }, o.heapEveryMs ?? 2000);
  const c = createClients(server.address);
  const Exec = makeGenericClientConstructor(ExecutionService, 'Execution');
  const exec = new Exec(server.address, credentials.createInsecure()) as unknown as Record<string, Function> & { close(): void };
  const report: SoakReport = { minutes: [], errors: [], calls: 0 };
  let latencies: number[] = [];
  let errors = 0;
  const start = Date.now();
  const ms = (f: () => Promise<unknown>) => async () => {
    const t = Date.now();
    try {
      await f();
      latencies.push(Date.now() - t);
    } catch (err) {
      errors++;
      if (report.errors.length < 20) report.errors.push((err as Error).message);
    }
    report.calls++;
  };
  const execute = (actionDigest: REv2.Digest) =>
    new Promise<void>((resolve, reject) => {
      const call = exec.execute(re.ExecuteRequest.create({ actionDigest }), { deadline: Date.now() + 60_000 });
      let last: LongrunningPb.Operation | undefined;
      call.on('data', (op: LongrunningPb.Operation) => (last = op));
      call.on('error', (e: ServiceError) => reject(e));
      call.on('end', () => {
        const r = last?.done && last.response ? re.ExecuteResponse.decode(last.response.value!) : undefined;
        if (!r || (r.status?.code ?? 0) !== 0 || r.result?.exitCode !== 0) reject(new Error(`Execute did not succeed: ${r?.status?.message ?? 'no response'}`));
        else resolve();
      });
    });
  const loop = async (id: number) => {
    const mine: TestBlob[] = [];
    const pool = new Map<number, TestBlob>();
    const pooled = (k: number) => pool.get(k) ?? pool.set(k, pooledBlob(id, k)).get(k)!;
    for (let i = 0; Date.now() - start < o.durationMs; i++) {
      const fresh = Math.random() < w.newShare;
      const b = fresh ? blobOf(randomBytes(1 + Math.floor(Math.random() * 32 * 1024))) : pooled(Math.floor(Math.random() * w.poolPerClient));
      await ms(() => c.cas.batchUpdateBlobs({ requests: [{ digest: b.digest, data: b.data }] }).then((r) => r.responses[0].status?.code && Promise.reject(new Error(r.responses[0].status.message ?? ''))))();
      mine.push(b);
      if (mine.length > w.recentBlobs) mine.shift();
      await ms(() => c.cas.findMissingBlobs({ blobDigests: mine.map((x) => x.digest) }).then((r) => r.missingBlobDigests.length && Promise.reject(new Error('uploaded blob missing'))))();
      const pick = mine[Math.floor(Math.random() * mine.length)];
      await ms(() => c.byteStream.read(readName(pick)).then((d) => (d.equals(pick.data) ? undefined : Promise.reject(new Error('read returned other bytes')))))();
      const action = (fresh ? blobOf(randomBytes(32)) : blobOf(`soak ${id} action ${Math.floor(Math.random() * w.poolPerClient)}`)).digest;
      await ms(() => c.ac.updateActionResult({ actionDigest: action, actionResult: { exitCode: 0, outputFiles: [{ path: 'o', digest: pick.digest }] } }))();
      await ms(() => c.ac.getActionResult({ actionDigest: action }))();
      if (i % 5 === 0) {
        // A small action: new every few rounds (runs on the worker), otherwise an AC hit through Execute.
        const command = blobOf(encode(re.Command, re.Command.create({ arguments: ['/bin/sh', '-c', `echo ${id}-${i % 20} > out`], outputPaths: ['out'] })));
        const root = blobOf(encode(re.Directory, re.Directory.create({})));
        const act = blobOf(encode(re.Action, re.Action.create({ commandDigest: command.digest, inputRootDigest: root.digest })));
        await ms(async () => {
          await c.cas.batchUpdateBlobs({ requests: [command, root, act].map((x) => ({ digest: x.digest, data: x.data })) });
          await execute(act.digest);
        })();
      }
    }
  };
  const sampler = setInterval(() => {
    const sorted = latencies.sort((a, b) => a - b);
    report.minutes.push({
      minute: report.minutes.length + 1,
      calls: sorted.length + errors,
      errors,
      p99Ms: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
      rssMiB: Math.round(rssMiB(server.child.pid!)),
      heapMinMiB: heap.length ? mib(Math.min(...heap)) : NaN,
      heapMaxMiB: heap.length ? mib(Math.max(...heap)) : NaN,
      liveMiB: afterMajorGc.length ? Math.min(...afterMajorGc) : NaN,
      majorGcs: afterMajorGc.length,
      casEvictions: evictions.cas,
      acEvictions: evictions.ac,
    });
    latencies = [];
    errors = 0;
    heap = [];
    afterMajorGc = [];
  }, minuteMs);
  try {
    await Promise.all(Array.from({ length: o.clients }, (_, i) => loop(i)));
  } finally {
    clearInterval(sampler);
    clearInterval(heapSampler);
    c.close();
    exec.close();
    await server.stop();
  }
  return report;
}
