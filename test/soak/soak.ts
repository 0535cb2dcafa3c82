import { credentials, makeGenericClientConstructor, ServiceError } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
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
}

export interface SoakReport {
  minutes: SoakMinute[];
  errors: string[];
  calls: number;
}

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/**
 * `clients` concurrent loops against an all-in-one server with one local worker, each mixing FindMissingBlobs,
 * BatchUpdateBlobs, ByteStream reads, GetActionResult/UpdateActionResult and Execute of a small action, for
 * `durationMs`; per minute: calls, errors, p99 latency, the server's RSS and its JS heap. The heap is read from the
 * server's /metrics every `heapEveryMs`: a minute's lowest sample is the heap that survived garbage collection (what a
 * leak makes grow), its highest shows the garbage in between.
 */
export async function soak(o: { durationMs: number; clients: number; dataDir: string; minuteMs?: number; heapEveryMs?: number }): Promise<SoakReport> {
  const minuteMs = o.minuteMs ?? 60_000;
  const server = await startServerProcess({ args: ['--data', o.dataDir, '--workers', '1'] });
  const ready = await server.waitForLog('ready');
  const metricsUrl = `http://${String(ready.http)}/metrics`;
  let heap: number[] = [];
  const heapSampler = setInterval(() => {
    scrape(metricsUrl).then(
      (page) => heap.push(sumOf(page, 'nodejs_heap_size_used_bytes')),
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
    for (let i = 0; Date.now() - start < o.durationMs; i++) {
      const b = blobOf(randomBytes(1 + Math.floor(Math.random() * 32 * 1024)));
      await ms(() => c.cas.batchUpdateBlobs({ requests: [{ digest: b.digest, data: b.data }] }).then((r) => r.responses[0].status?.code && Promise.reject(new Error(r.responses[0].status.message ?? ''))))();
      mine.push(b);
      if (mine.length > 50) mine.shift();
      await ms(() => c.cas.findMissingBlobs({ blobDigests: mine.map((x) => x.digest) }).then((r) => r.missingBlobDigests.length && Promise.reject(new Error('uploaded blob missing'))))();
      const pick = mine[Math.floor(Math.random() * mine.length)];
      await ms(() => c.byteStream.read(readName(pick)).then((d) => (d.equals(pick.data) ? undefined : Promise.reject(new Error('read returned other bytes')))))();
      const action = blobOf(randomBytes(32)).digest;
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
    });
    latencies = [];
    errors = 0;
    heap = [];
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
