import { ChildProcess, spawn } from 'node:child_process';
import { credentials, makeGenericClientConstructor, MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import Long from 'long';
import { Digest } from '../src/digest/digest';
import { SHA256 } from '../src/digest/digest-function';
import { ActionCacheService, ByteStreamService, ContentAddressableStorageService } from '../src/grpc/service-definitions';
import { bytestream, ByteStreamPb, encode, re, REv2 } from '../src/proto';
import { startServerProcess } from '../test/e2e/server-process';
import { median, processCpuSecondsPrecise, report } from './bench-util';
import { EchoService } from './echo-server';

export type Client = Record<string, Function> & { close(): void };
const MiB = 1024 * 1024;

/**
 * What the bench client sets. Bazel's client (grpc-java on Netty) starts with a 1 MiB window and grows it by BDP
 * probing; grpc-js does not probe, so the bench fixes a window large enough not to throttle loopback.
 */
export const CLIENT_OPTIONS = { 'grpc.max_receive_message_length': 64 * MiB, 'grpc-node.flow_control_window': 8 * MiB };

export function client(def: ServiceDefinition, address: string): Client {
  const Ctor = makeGenericClientConstructor(def, 'C');
  return new Ctor(address, credentials.createInsecure(), CLIENT_OPTIONS) as unknown as Client;
}

export const call = <Res>(c: Client, method: string, req: unknown) =>
  new Promise<Res>((resolve, reject) => c[method](req, (e: Error | null, r: Res) => (e ? reject(e) : resolve(r))));

export const elapsedMs = async (fn: () => Promise<unknown>): Promise<number> => {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
};

const rawMethod = (name: string): MethodDefinition<Buffer, Buffer> => ({
  path: `/build.bazel.remote.execution.v2.ContentAddressableStorage/${name}`,
  requestStream: false,
  responseStream: false,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
});

/** CAS methods that send and receive encoded bytes, so timed calls leave out the client's protobufjs work. */
export function rawClient(address: string): Client {
  return client({ findMissingBlobs: rawMethod('FindMissingBlobs'), batchReadBlobs: rawMethod('BatchReadBlobs') }, address);
}

/** How many times top-level field 1 or 2 (length-delimited) occurs in an encoded message: the entries of a response. */
export function countEntries(b: Buffer, tag: number): number {
  let n = 0;
  for (let at = 0; at < b.byteLength; ) {
    const t = b[at++];
    let len = 0;
    for (let shift = 1; ; shift *= 128) {
      const x = b[at++];
      len += (x & 0x7f) * shift;
      if (x < 0x80) break;
    }
    if (t === tag) n++;
    at += len;
  }
  return n;
}

/** The echo baseline's server, in its own process like the backend's. */
async function startEchoServer(): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(process.execPath, [path.join(__dirname, 'echo-server.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, address: `127.0.0.1:${Number(line.toString().trim())}` };
}

/** Sends `total` bytes as 1 MiB messages through the echo stream and waits until all came back. */
function echoStream(echo: Client, total: number, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = echo.stream();
    let received = 0;
    let sent = 0;
    s.on('data', (b: Buffer) => (received += b.byteLength));
    s.on('end', () => (received === total ? resolve() : reject(new Error(`echo returned ${received} of ${total} bytes`))));
    s.on('error', reject);
    const pump = () => {
      while (sent < total) {
        sent += chunk.byteLength;
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
      s.end();
    };
    pump();
  });
}

export function readAll(bs: Client, digest: Digest): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = bs.read(bytestream.ReadRequest.create({ resourceName: `blobs/${digest.hash}/${digest.size}` }));
    let n = 0;
    s.on('data', (r: ByteStreamPb.ReadResponse) => (n += r.data.byteLength));
    s.on('end', () => (n === digest.size ? resolve() : reject(new Error(`read ${n} of ${digest.size} bytes`))));
    s.on('error', reject);
  });
}

export function writeAll(bs: Client, blob: Buffer, digest: Digest): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = bs.write((e: Error | null) => (e ? reject(e) : resolve()));
    const name = `uploads/${randomUUID()}/blobs/${digest.hash}/${digest.size}`;
    for (let off = 0; off < blob.byteLength; off += MiB) {
      s.write(bytestream.WriteRequest.create({ resourceName: off === 0 ? name : '', writeOffset: Long.fromNumber(off), data: blob.subarray(off, off + MiB), finishWrite: off + MiB >= blob.byteLength }));
    }
    s.end();
  });
}

/** Runs `a` and `b` alternately `rounds` times; per-round times of each, so every ratio compares neighbours in time. */
async function paired(rounds: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<{ a: number[]; b: number[]; ratios: number[] }> {
  const out = { a: [] as number[], b: [] as number[], ratios: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    const ta = await elapsedMs(a);
    const tb = await elapsedMs(b);
    out.a.push(ta);
    out.b.push(tb);
    out.ratios.push(ta / tb);
  }
  return out;
}

const spread = (xs: number[], digits = 2) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

interface BenchContext {
  rounds: number;
  cas: Client;
  bs: Client;
  ac: Client;
  echo: Client;
  /** The CAS with bytes in and out, like the echo client: the client's protobuf work is not timed. */
  raw: Client;
  serverCpu: () => number;
  echoCpu: () => number;
  /** 1,000 blobs of 4 KiB, stored in the CAS. */
  small: REv2.Digest[];
}

/** CPU milliseconds of a process (as read by `cpu`) per call of `fn`, over `n` calls. */
async function cpuPerCall(cpu: () => number, n: number, fn: () => Promise<unknown>): Promise<number> {
  const c0 = cpu();
  for (let i = 0; i < n; i++) await fn();
  return ((cpu() - c0) * 1000) / n;
}

const SIZE = 256 * MiB;

async function readRow(x: BenchContext): Promise<void> {
  const chunk = randomBytes(MiB);
  const blob = randomBytes(SIZE);
  const digest = Digest.compute(blob, SHA256);
  const writeMs = await elapsedMs(() => writeAll(x.bs, blob, digest));
  report('cache: ByteStream write 256 MiB (hash + fsync + rename)', SIZE / MiB / (writeMs / 1000), 'MiB/s', `${writeMs.toFixed(0)} ms`);
  await echoStream(x.echo, 16 * MiB, chunk);
  await readAll(x.bs, digest);
  const read = await paired(x.rounds, () => readAll(x.bs, digest), () => echoStream(x.echo, SIZE, chunk));
  const rate = (t: number) => SIZE / MiB / (t / 1000);
  report('cache: echo baseline, 256 MiB through a 1 MiB-message stream', rate(median(read.b)), 'MiB/s', `(median of ${x.rounds}; ${spread(read.b.map(rate), 0)})`);
  report('cache: ByteStream read 256 MiB, disk store', rate(median(read.a)), 'MiB/s', `(${spread(read.a.map(rate), 0)})`);
  report('cache: ByteStream read 256 MiB vs echo baseline', 1 / median(read.ratios), '×', `(per-round ${spread(read.ratios.map((r) => 1 / r))}; goal ≥ 1.6)`);
  const readCpu = await cpuPerCall(x.serverCpu, 2, () => readAll(x.bs, digest));
  const echoCpu = await cpuPerCall(x.echoCpu, 2, () => echoStream(x.echo, SIZE, chunk));
  report('cache: server CPU per 256 MiB read / echo server per 256 MiB echoed', readCpu, 'ms', `/ ${echoCpu.toFixed(0)} ms`);
}

/** BatchReadBlobs: 1,000 blobs of 4 KiB in one request (4,000 KiB, within max_batch_total_size_bytes). */
async function batchRow(x: BenchContext): Promise<void> {
  const req = encode(re.BatchReadBlobsRequest, re.BatchReadBlobsRequest.create({ digests: x.small }));
  const first = re.BatchReadBlobsResponse.decode(await call<Buffer>(x.raw, 'batchReadBlobs', req));
  if (first.responses.length !== 1000 || first.responses.some((b, i) => b.status?.code || !Digest.compute(b.data ?? Buffer.alloc(0), SHA256).equals(Digest.fromProto(x.small[i], SHA256)))) {
    throw new Error('BatchReadBlobs returned an error or wrong bytes');
  }
  const expectedBytes = encode(re.BatchReadBlobsResponse, first).byteLength;
  // Timed calls check the answer's size and entry count; the decode above checked its contents.
  const batchRead = () =>
    call<Buffer>(x.raw, 'batchReadBlobs', req).then((r) => {
      if (r.byteLength !== expectedBytes || countEntries(r, 0x0a) !== 1000) throw new Error('BatchReadBlobs answered differently');
    });
  for (let i = 0; i < 3; i++) await batchRead();
  // Paired with the echo stream's rate, round by round (the rate of 64 MiB echoed as 1 MiB messages).
  const chunk = randomBytes(MiB);
  const times: number[] = [];
  const ratios: number[] = [];
  const payload = (1000 * 4096) / MiB;
  for (let round = 0; round < Math.max(x.rounds, 5); round++) {
    const t: number[] = [];
    for (let i = 0; i < 5; i++) t.push(await elapsedMs(batchRead));
    const echoMs = await elapsedMs(() => echoStream(x.echo, 64 * MiB, chunk));
    times.push(...t);
    ratios.push(payload / (median(t) / 1000) / (64 / (echoMs / 1000)));
  }
  const rate = payload / (median(times) / 1000);
  report('cache: BatchReadBlobs 1,000 × 4 KiB', rate, 'MiB/s', `${median(times).toFixed(1)} ms, ${(1000 / (median(times) / 1000)).toFixed(0)} blobs/s (${spread(times, 1)} ms)`);
  report('cache: BatchReadBlobs 1,000 × 4 KiB vs echo stream (payload MiB/s)', median(ratios), '×', `(per-round ${spread(ratios)}; goal ≥ 0.30, first bar 0.2)`);
  report('cache: server CPU per BatchReadBlobs 1,000 × 4 KiB', await cpuPerCall(x.serverCpu, 20, batchRead), 'ms');
}

/** FindMissingBlobs: 10k digests, half of them stored (as after a build), the rest unknown. */
async function findMissingRow(x: BenchContext): Promise<void> {
  const stored = Array.from({ length: 5000 }, () => randomBytes(64));
  for (let i = 0; i < stored.length; i += 1000) {
    const part = stored.slice(i, i + 1000);
    await call(x.cas, 'batchUpdateBlobs', re.BatchUpdateBlobsRequest.create({ requests: part.map((data) => ({ digest: Digest.compute(data, SHA256).toProto(), data })) }));
  }
  const unknown = Array.from({ length: 5000 }, () => re.Digest.create({ hash: randomBytes(32).toString('hex'), sizeBytes: Long.fromNumber(1000) }));
  const req = encode(re.FindMissingBlobsRequest, re.FindMissingBlobsRequest.create({ blobDigests: [...stored.map((b) => Digest.compute(b, SHA256).toProto()), ...unknown] }));
  const unknownKeys = new Set(unknown.map((d) => d.hash));
  const first = re.FindMissingBlobsResponse.decode(await call<Buffer>(x.raw, 'findMissingBlobs', req));
  if (first.missingBlobDigests.length !== 5000 || !first.missingBlobDigests.every((d) => unknownKeys.has(d.hash ?? ""))) throw new Error('FindMissingBlobs answered wrongly');
  const findMissing = () =>
    call<Buffer>(x.raw, 'findMissingBlobs', req).then((r) => {
      const n = countEntries(r, 0x12);
      if (n !== 5000) throw new Error(`FindMissingBlobs reported ${n} missing, expected 5000`);
    });
  const times: number[] = [];
  for (let i = 0; i < 3; i++) await findMissing();
  for (let i = 0; i < 20; i++) times.push(await elapsedMs(findMissing));
  report('cache: FindMissingBlobs 10k digests (half present) p50', median(times), 'ms', `(${spread(times, 1)}; goal ≤ 15)`);
  report('cache: server CPU per FindMissingBlobs 10k', await cpuPerCall(x.serverCpu, 20, findMissing), 'ms');
}

/** Pairs per AC row: each Update fsyncs twice, which takes long on this shared disk. */
const AC_PAIRS = 60;

/** AC round trip: UpdateActionResult then GetActionResult of a result whose outputs are in the CAS; and a hit alone. */
async function actionCacheRow(x: BenchContext): Promise<void> {
  const outputs = x.small.slice(0, 3).map((digest, i) => re.OutputFile.create({ path: `bazel-out/k8-fastbuild/bin/lib${i}.rlib`, digest }));
  const result = re.ActionResult.create({ outputFiles: outputs, stdoutDigest: x.small[3], stderrDigest: x.small[4], exitCode: 0 });
  const echoMsg = encode(re.ActionResult, result);
  const roundTrip = async () => {
    const actionDigest = Digest.compute(randomBytes(32), SHA256).toProto();
    await call(x.ac, 'updateActionResult', re.UpdateActionResultRequest.create({ actionDigest, actionResult: result }));
    await call(x.ac, 'getActionResult', re.GetActionResultRequest.create({ actionDigest }));
  };
  const hitDigest = Digest.compute(randomBytes(32), SHA256).toProto();
  await call(x.ac, 'updateActionResult', re.UpdateActionResultRequest.create({ actionDigest: hitDigest, actionResult: result }));
  const hit = () => call(x.ac, 'getActionResult', re.GetActionResultRequest.create({ actionDigest: hitDigest, inlineStdout: true, inlineStderr: true }));
  const unaryEcho = () => call(x.echo, 'unary', echoMsg);
  // The round trip is two RPCs, each carrying the ActionResult one way: its baseline is two unary echoes of it.
  const twoEchoes = async () => {
    await unaryEcho();
    await unaryEcho();
  };
  for (let i = 0; i < 10; i++) await Promise.all([roundTrip(), unaryEcho()]);
  const rt = await paired(AC_PAIRS, roundTrip, twoEchoes);
  const hits = await paired(AC_PAIRS, hit, unaryEcho);
  report('cache: unary echo baseline ×2 p50', median(rt.b), 'ms', `(${echoMsg.byteLength}-byte message each way)`);
  report('cache: AC round trip (Update + Get) p50', median(rt.a), 'ms', `(bazel-remote measured 2.55–2.86 ms in #15, not here)`);
  report('cache: AC round trip vs two unary echoes (p50 of per-pair ratios)', median(rt.ratios), '×', '(goal ≤ 1.0; Update fsyncs the entry and its directory)');
  report('cache: GetActionResult hit (completeness-checked, stdout/stderr inlined) p50', median(hits.a), 'ms', `(${median(hits.ratios).toFixed(2)}× one unary echo, p50 of per-pair ratios)`);
  const rtCpu = await cpuPerCall(x.serverCpu, AC_PAIRS, roundTrip);
  report('cache: server CPU per AC round trip / per hit', rtCpu, 'ms', `/ ${(await cpuPerCall(x.serverCpu, AC_PAIRS, hit)).toFixed(2)} ms; echo server per echo ${(await cpuPerCall(x.echoCpu, AC_PAIRS, unaryEcho)).toFixed(2)} ms`);
}

const ROWS: Record<string, (x: BenchContext) => Promise<void>> = { read: readRow, batch: batchRow, fmb: findMissingRow, ac: actionCacheRow };

/**
 * The cache path over real gRPC on loopback, the backend (all-in-one, no workers) and a grpc-js echo server each in
 * their own process. Rows are ratios to baselines measured alternately in the same run: ByteStream read of 256 MiB
 * and BatchReadBlobs of 1,000 × 4 KiB against a 1 MiB-message echo stream (payload MiB/s), the AC round trip
 * (UpdateActionResult + GetActionResult) against a unary echo; FindMissingBlobs of 10k digests as a p50. Server CPU
 * per operation (from /proc) is the counter that the other helpers' compiles disturb least.
 */
export async function cacheBench(options: { rounds?: number; rows?: string[] } = {}): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-cache-'));
  // BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles the backend (written when it stops).
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean);
  // BENCH_SERVER_ENTRY=/other/dist/src/cmd/all-in-one.js measures another build's server with this client (before/after).
  const server = await startServerProcess({ args: ['--data', dir, '--workers', '0'], nodeArgs, entry: process.env.BENCH_SERVER_ENTRY });
  const echoServer = await startEchoServer();
  const x: BenchContext = {
    rounds: options.rounds ?? 5,
    cas: client(ContentAddressableStorageService, server.address),
    bs: client(ByteStreamService, server.address),
    ac: client(ActionCacheService, server.address),
    echo: client(EchoService, echoServer.address),
    serverCpu: () => processCpuSecondsPrecise(server.child.pid!),
    echoCpu: () => processCpuSecondsPrecise(echoServer.child.pid!),
    raw: rawClient(server.address),
    small: [],
  };
  try {
    const small = Array.from({ length: 1000 }, () => randomBytes(4096));
    x.small = small.map((b) => Digest.compute(b, SHA256).toProto());
    await call(x.cas, 'batchUpdateBlobs', re.BatchUpdateBlobsRequest.create({ requests: small.map((data, i) => ({ digest: x.small[i], data })) }));
    for (const [name, row] of Object.entries(ROWS)) if (!options.rows || options.rows.includes(name)) await row(x);
  } finally {
    for (const c of [x.cas, x.bs, x.ac, x.echo, x.raw]) c.close();
    echoServer.child.kill();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  // ROUNDS=n and BENCH_ROWS=read,batch,fmb,ac (default: all) run parts alone, e.g. under a profiler.
  cacheBench({ rounds: Number(process.env.ROUNDS ?? 5), rows: process.env.BENCH_ROWS?.split(',') }).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
