import * as assert from 'node:assert/strict';
import { credentials, makeGenericClientConstructor, Metadata, ServiceError } from '@grpc/grpc-js';
import { promises as fsp } from 'node:fs';
import * as http2 from 'node:http2';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Long from 'long';
import { Frontend, startFrontend } from '../../src/cmd/frontend';
import { defaultConfig, LimitsConfig, ServerConfig } from '../../src/config/server-config';
import { richStatus } from '../../src/grpc/rpc-status';
import { ByteStreamService, ContentAddressableStorageService } from '../../src/grpc/service-definitions';
import { Logger, silentLogger } from '../../src/logging/logger';
import pino from 'pino';
import { Writable } from 'node:stream';
import { ByteStreamPb, re, REv2, rpc } from '../../src/proto';
import { durationMs } from '../../src/util/proto-time';
import { randomBlob, readName, TestBlob, writeName } from '../helpers/blobs';
import { Code, expectStatus } from '../helpers/clients';
import { operations, responseOf, startExecutionFixture, waitForWorkers } from './execution-fixture';

type Raw = Record<string, Function> & { close(): void };

/** Generic clients that send `authorization: Bearer <token>` when given one. */
function rawClients(address: string, token?: string) {
  const md = () => {
    const m = new Metadata();
    if (token) m.set('authorization', `Bearer ${token}`);
    return m;
  };
  const bs = new (makeGenericClientConstructor(ByteStreamService, 'ByteStream'))(address, credentials.createInsecure()) as unknown as Raw;
  const cas = new (makeGenericClientConstructor(ContentAddressableStorageService, 'CAS'))(address, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 }) as unknown as Raw;
  const unary = <T>(client: Raw, method: string, req: unknown) => new Promise<T>((resolve, reject) => client[method](req, md(), (err: ServiceError | null, res: T) => (err ? reject(err) : resolve(res))));
  return {
    findMissing: (blobs: TestBlob[]) => unary<REv2.FindMissingBlobsResponse>(cas, 'findMissingBlobs', re.FindMissingBlobsRequest.create({ blobDigests: blobs.map((b) => b.digest) })),
    batchUpdate: (blobs: TestBlob[]) => unary<REv2.BatchUpdateBlobsResponse>(cas, 'batchUpdateBlobs', re.BatchUpdateBlobsRequest.create({ requests: blobs.map((b) => ({ digest: b.digest, data: b.data })) })),
    /** A Write stream left open: `send` chunks, `end` half-closes; `response` settles with the call. */
    openWrite() {
      let stream!: { write(m: unknown): boolean; end(): void; cancel(): void };
      const response = new Promise<ByteStreamPb.WriteResponse>((resolve, reject) => {
        stream = bs.write(md(), (err: ServiceError | null, res: ByteStreamPb.WriteResponse) => (err ? reject(err) : resolve(res)));
      });
      response.catch(() => undefined);
      return { stream, response, send: (m: ByteStreamPb.IWriteRequest) => stream.write(ByteStreamPb.WriteRequest.create(m as ByteStreamPb.WriteRequest)) };
    },
    /** A whole blob in one Write call. */
    async upload(blob: TestBlob, chunk = 64 * 1024) {
      const w = this.openWrite();
      const name = writeName(blob);
      for (let off = 0; off < blob.size || off === 0; off += chunk) {
        const end = Math.min(blob.size, off + chunk);
        w.send({ resourceName: name, writeOffset: Long.fromNumber(off), data: blob.data.subarray(off, end), finishWrite: end === blob.size });
        if (end === blob.size) break;
      }
      w.stream.end();
      return w.response;
    },
    close() {
      bs.close();
      cas.close();
    },
  };
}

/** A cache frontend with `limits` on a fresh temp dir (and auth when `tokens` are given). */
async function startServer(limits: Partial<LimitsConfig>, extra: Partial<ServerConfig> = {}, tokens?: object, logger: Logger = silentLogger()): Promise<{ frontend: Frontend; address: string; dir: string; close(): Promise<void> }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-limits-'));
  const config: ServerConfig = { ...defaultConfig(dir), listen: '127.0.0.1:0', ...extra };
  config.limits = { ...config.limits, ...limits };
  if (tokens) {
    config.security.tokensFile = path.join(dir, 'tokens.json');
    await fsp.writeFile(config.security.tokensFile, JSON.stringify(tokens));
  }
  const frontend = await startFrontend(config, logger);
  return { frontend, address: `127.0.0.1:${frontend.port}`, dir, close: async () => (await frontend.close(), await fsp.rm(dir, { recursive: true, force: true })) };
}

/** The RetryInfo and ErrorInfo a refused call carries in grpc-status-details-bin. */
function details(err: ServiceError): { retryMs?: number; reason?: string; client?: string } {
  const s = richStatus(err);
  assert.ok(s, 'the status has details (grpc-status-details-bin)');
  const out: { retryMs?: number; reason?: string; client?: string } = {};
  for (const d of s.details) {
    if (d.type_url?.endsWith('google.rpc.RetryInfo')) out.retryMs = durationMs(rpc.RetryInfo.decode(d.value!).retryDelay);
    if (d.type_url?.endsWith('google.rpc.ErrorInfo')) {
      const e = rpc.ErrorInfo.decode(d.value!);
      out.reason = e.reason;
      out.client = e.metadata.client;
    }
  }
  return out;
}

async function until(cond: () => boolean | Promise<boolean>, what: string | (() => string), ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out waiting until ${typeof what === 'function' ? what() : what}`);
    await sleep(20);
  }
}

/** Files in the filesystem CAS's upload area (uploads in progress). */
const tempFiles = async (dir: string) => fsp.readdir(path.join(dir, 'cas', 'tmp')).catch(() => [] as string[]);

describe('per-client concurrency limit', { timeout: 60_000 }, () => {
  it('refuses the call over the limit with RESOURCE_EXHAUSTED and a RetryInfo, per peer address, and admits again once a call ends', async () => {
    const lines: { level: number; msg: string; reason?: string; client?: string }[] = [];
    const sink = new Writable({ write: (chunk, _e, cb) => (String(chunk).split('\n').filter(Boolean).forEach((l) => lines.push(JSON.parse(l))), cb()) });
    const s = await startServer({ maxConcurrentCalls: 4, retryDelayMs: 2500 }, {}, undefined, pino({ level: 'debug' }, sink));
    const c = rawClients(s.address);
    try {
      const blobs = [0, 1, 2, 3].map(() => randomBlob(100 * 1024));
      const open = blobs.map((b) => {
        const w = c.openWrite();
        w.send({ resourceName: writeName(b), data: b.data.subarray(0, 1000) });
        return { w, b };
      });
      await until(() => s.frontend.limits.inFlight('127.0.0.1') === 4, 'four Writes are in flight');
      const refused = await expectStatus(c.findMissing(blobs), Code.RESOURCE_EXHAUSTED, 'client "127.0.0.1" already has 4 calls in flight', 'limits.maxConcurrentCalls', 'retry ContentAddressableStorage.FindMissingBlobs after 2.5 s', 'limits.clients["127.0.0.1"].maxConcurrentCalls');
      assert.deepEqual(details(refused), { retryMs: 2500, reason: 'CLIENT_CONCURRENCY_LIMIT', client: '127.0.0.1' });
      assert.equal(s.frontend.limits.inFlight('127.0.0.1'), 4, 'a refused call holds no slot');
      // Finishing one upload frees its slot.
      const { w, b } = open[0];
      w.send({ writeOffset: Long.fromNumber(1000), data: b.data.subarray(1000), finishWrite: true });
      w.stream.end();
      assert.equal(Long.fromValue((await w.response).committedSize).toNumber(), b.size);
      await until(() => s.frontend.limits.inFlight('127.0.0.1') === 3, 'the finished Write gave its slot back');
      assert.equal((await c.findMissing(blobs)).missingBlobDigests.length, 3);
      for (const o of open.slice(1)) o.w.stream.cancel();
      await until(() => s.frontend.limits.total === 0, 'cancelled calls gave their slots back');
      // A client's doing: logged once at info, never as a server error.
      const refusals = lines.filter((l) => l.reason === 'concurrency');
      assert.deepEqual(refusals.map((l) => [l.level, l.client]), [[30, '127.0.0.1']]);
      assert.deepEqual(lines.filter((l) => l.level >= 50), []);
    } finally {
      c.close();
      await s.close();
    }
  });

  it('counts per authenticated identity, with per-client overrides from the config', async () => {
    const tokens = { clients: [{ name: 'ci', token: 'ci-token-0123456789', instances: ['*'] }, { name: 'dev', token: 'dev-token-0123456789', instances: ['*'] }] };
    const s = await startServer({ maxConcurrentCalls: 2, clients: { ci: { maxConcurrentCalls: 5 } } }, {}, tokens);
    const dev = rawClients(s.address, 'dev-token-0123456789');
    const ci = rawClients(s.address, 'ci-token-0123456789');
    const hold = (c: ReturnType<typeof rawClients>, n: number) =>
      Array.from({ length: n }, () => {
        const b = randomBlob(10_000);
        const w = c.openWrite();
        w.send({ resourceName: writeName(b), data: b.data.subarray(0, 100) });
        return w;
      });
    try {
      const devCalls = hold(dev, 2);
      await until(() => s.frontend.limits.inFlight('dev') === 2, 'dev holds two calls');
      const err = await expectStatus(dev.findMissing([randomBlob(1)]), Code.RESOURCE_EXHAUSTED, 'client "dev" already has 2 calls in flight');
      assert.equal(details(err).client, 'dev');
      // ci is another client (same peer address): its own count, and its override.
      const ciCalls = hold(ci, 4);
      await until(() => s.frontend.limits.inFlight('ci') === 4, 'ci holds four calls');
      assert.equal((await ci.findMissing([randomBlob(1)])).missingBlobDigests.length, 1, 'ci\'s fifth call is within its override of 5');
      const ciFive = hold(ci, 1);
      await until(() => s.frontend.limits.inFlight('ci') === 5, 'ci holds five calls');
      await expectStatus(ci.findMissing([randomBlob(1)]), Code.RESOURCE_EXHAUSTED, 'client "ci" already has 5 calls in flight', 'limits.clients["ci"].maxConcurrentCalls');
      assert.equal(s.frontend.limits.inFlight('127.0.0.1'), 0, 'authenticated calls are not counted by address');
      for (const w of [...devCalls, ...ciCalls, ...ciFive]) w.stream.cancel();
      await until(() => s.frontend.limits.total === 0, 'all slots are back');
    } finally {
      dev.close();
      ci.close();
      await s.close();
    }
  });
});

describe('per-client message size limit', { timeout: 60_000 }, () => {
  it('refuses a message over the limit before buffering it, with an actionable RESOURCE_EXHAUSTED; overrides per client; nothing partial is stored', async () => {
    const tokens = { clients: [{ name: 'small', token: 'small-token-0123456789', instances: ['*'] }, { name: 'big', token: 'big-token-0123456789', instances: ['*'] }] };
    const s = await startServer({ maxMessageBytes: 128 * 1024, clients: { big: { maxMessageBytes: 1024 * 1024 } } }, { maxBatchTotalSizeBytes: 100 * 1024 }, tokens);
    const small = rawClients(s.address, 'small-token-0123456789');
    const big = rawClients(s.address, 'big-token-0123456789');
    try {
      const blob = randomBlob(300 * 1024);
      const err = await expectStatus(small.upload(blob, 300 * 1024), Code.RESOURCE_EXHAUSTED, /ByteStream\.Write request message of 307\d{3} bytes exceeds the limit of 131072 bytes per message for client "small" \(limits\.maxMessageSize\)/, 'send smaller messages');
      assert.deepEqual(details(err), { reason: 'MESSAGE_TOO_LARGE', client: 'small' });
      await expectStatus(small.batchUpdate([randomBlob(40 * 1024), randomBlob(40 * 1024), randomBlob(60 * 1024)]), Code.RESOURCE_EXHAUSTED, 'ContentAddressableStorage.BatchUpdateBlobs request message of', 'limits.maxMessageSize');
      assert.deepEqual(await tempFiles(s.dir), [], 'no temp file of the refused upload');
      assert.equal((await small.findMissing([blob])).missingBlobDigests.length, 1, 'nothing was stored, and the client is served again');
      // The same blob in chunks within the limit is fine, and so is one 300 KiB message from a client allowed 1 MiB.
      assert.equal(Long.fromValue((await small.upload(blob, 64 * 1024)).committedSize).toNumber(), blob.size);
      const other = randomBlob(300 * 1024);
      assert.equal(Long.fromValue((await big.upload(other, 300 * 1024)).committedSize).toNumber(), other.size);
      await until(() => s.frontend.limits.total === 0, 'all slots are back');
    } finally {
      small.close();
      big.close();
      await s.close();
    }
  });

  it('by default accepts a full batch of max_batch_total_size_bytes', async () => {
    const s = await startServer({});
    const c = rawClients(s.address);
    try {
      const total = defaultConfig('/x').maxBatchTotalSizeBytes;
      const blobs = [0, 1, 2, 3].map((i) => randomBlob(i < 3 ? Math.floor(total / 4) : total - 3 * Math.floor(total / 4)));
      const res = await c.batchUpdate(blobs);
      assert.deepEqual(res.responses.map((r: REv2.BatchUpdateBlobsResponse.IResponse) => r.status?.code ?? 0), [0, 0, 0, 0]);
    } finally {
      c.close();
      await s.close();
    }
  });
});

/**
 * An HTTP/2 stream opened on a gRPC method with headers only, like a slow-loris client: no message, and its side is
 * never ended. Settles when the server has sent a status and closed the stream (a server that only sent its status
 * would leave it half-open); a stream still open after `ms` settles without `closed`.
 */
function openSilentStream(session: http2.ClientHttp2Session, method: string, ms = 15_000): Promise<{ status?: string; message?: string; rstCode?: number; closed: boolean }> {
  const req = session.request({ ':method': 'POST', ':path': method, 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
  return new Promise((resolve) => {
    let status: string | undefined;
    let message: string | undefined;
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) message = decodeURIComponent(String(h['grpc-message']));
    };
    const timer = setTimeout(() => resolve({ status, message, closed: false }), ms);
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', () => undefined);
    req.on('error', () => undefined);
    req.on('close', () => (clearTimeout(timer), resolve({ status, message, rstCode: req.rstCode, closed: true })));
  });
}

describe('idle calls (slow loris)', { timeout: 60_000 }, () => {
  it('ends streams whose client sends nothing with DEADLINE_EXCEEDED after limits.idleTimeout, and frees their slots and uploads', async () => {
    const s = await startServer({ idleTimeoutMs: 2000, maxConcurrentCalls: 40 }, { uploadIdleMs: 300 });
    const c = rawClients(s.address);
    const session = http2.connect(`http://${s.address}`);
    try {
      const t0 = Date.now();
      // 30 raw streams with headers only (Write, FindMissingBlobs, GetActionResult), a Write that stops after its first chunk.
      const silent = [
        ...Array.from({ length: 10 }, () => openSilentStream(session, '/build.bazel.remote.execution.v2.ActionCache/GetActionResult')),
        ...Array.from({ length: 10 }, () => openSilentStream(session, '/google.bytestream.ByteStream/Write')),
        ...Array.from({ length: 10 }, () => openSilentStream(session, '/build.bazel.remote.execution.v2.ContentAddressableStorage/FindMissingBlobs')),
      ];
      const blob = randomBlob(1024 * 1024);
      const stalled = c.openWrite();
      stalled.send({ resourceName: writeName(blob), data: blob.data.subarray(0, 256 * 1024) });
      await until(() => s.frontend.limits.inFlight('127.0.0.1') === 31, () => `31 calls are in flight (${s.frontend.limits.inFlight('127.0.0.1')})`, 1500);
      await until(async () => (await tempFiles(s.dir)).length === 1, 'the stalled upload has a temp file');
      const results = await Promise.all(silent);
      const err = await expectStatus(stalled.response, Code.DEADLINE_EXCEEDED, 'no request message arrived for 2 s (limits.idleTimeout)', 'ByteStream.Write', 'QueryWriteStatus');
      const elapsed = Date.now() - t0;
      for (const r of results) {
        assert.equal(r.status, String(Code.DEADLINE_EXCEEDED), JSON.stringify(r));
        assert.deepEqual([r.closed, r.rstCode], [true, http2.constants.NGHTTP2_NO_ERROR], 'the server closed the half-open stream after its status');
        assert.match(r.message ?? '', /no request message arrived for 2 s \(limits\.idleTimeout\): the server closed (ActionCache\.GetActionResult|ByteStream\.Write|ContentAddressableStorage\.FindMissingBlobs) to free its resources/);
      }
      assert.ok(err);
      assert.ok(elapsed >= 2000 && elapsed < 9000, `timed out after ${elapsed} ms`);
      await until(() => s.frontend.limits.total === 0, 'every slot is back');
      // The interrupted upload stays resumable for uploadIdle, then its temp file is deleted.
      await until(async () => (await tempFiles(s.dir)).length === 0, 'the stalled upload\'s temp file is deleted', 5000);
      assert.equal((await c.findMissing([blob])).missingBlobDigests.length, 1);
      console.log(`idle: 30 silent streams + 1 stalled Write ended with DEADLINE_EXCEEDED after ${elapsed} ms (idle timeout 2 s)`);
    } finally {
      session.close();
      c.close();
      await s.close();
    }
  });

  it('resets a stream whose client stops reading its responses, freeing the call', async () => {
    const s = await startServer({ idleTimeoutMs: 1000 });
    const c = rawClients(s.address);
    // A small window, so that the server's writes stall as soon as the client stops reading.
    const session = http2.connect(`http://${s.address}`, { settings: { initialWindowSize: 65_535 } });
    try {
      const blob = randomBlob(8 * 1024 * 1024);
      assert.equal(Long.fromValue((await c.upload(blob, 1024 * 1024)).committedSize).toNumber(), blob.size);
      const body = ByteStreamPb.ReadRequest.encode(ByteStreamPb.ReadRequest.create({ resourceName: readName(blob) })).finish();
      const frame = Buffer.alloc(5 + body.length);
      frame.writeUInt32BE(body.length, 1);
      Buffer.from(body).copy(frame, 5);
      const req = session.request({ ':method': 'POST', ':path': '/google.bytestream.ByteStream/Read', 'content-type': 'application/grpc', te: 'trailers' });
      req.end(frame);
      let received = 0;
      req.once('data', (d: Buffer) => {
        received += d.length;
        req.pause(); // and never read again
      });
      const t0 = Date.now();
      await until(() => s.frontend.limits.inFlight('127.0.0.1') === 1, 'the Read is in flight');
      const rstCode = await new Promise<number>((resolve) => req.on('close', () => resolve(req.rstCode)));
      const elapsed = Date.now() - t0;
      assert.equal(rstCode, http2.constants.NGHTTP2_CANCEL);
      assert.ok(received < blob.size, 'the client did not get the whole blob');
      await until(() => s.frontend.limits.total === 0, 'the slot is back');
      assert.ok(elapsed >= 900 && elapsed < 8000, `reset after ${elapsed} ms`);
      console.log(`idle: a Read whose client stopped reading was reset after ${elapsed} ms (idle timeout 1 s)`);
    } finally {
      session.close();
      c.close();
      await s.close();
    }
  });
});

describe('Bazel-like load within the default limits', { timeout: 60_000 }, () => {
  let f: Awaited<ReturnType<typeof startExecutionFixture>>;
  before(async () => {
    f = await startExecutionFixture();
    f.startWorker();
    await waitForWorkers(f, 1);
  });
  after(async () => f?.close());

  it('serves 200 Execute and 100 WaitExecution streams waiting on one action next to 1,000 concurrent uploads, refusing nothing', async () => {
    assert.deepEqual(defaultConfig('/x').limits, { maxConcurrentCalls: 10_000, idleTimeoutMs: 60_000, retryDelayMs: 1000, clients: {} });
    const action = await f.action({ args: ['sh', '-c', 'sleep 2; echo done'] });
    const c = rawClients(f.address);
    try {
      const t0 = Date.now();
      const executes = Array.from({ length: 200 }, () => operations(f.execute({ actionDigest: action })));
      const name = await firstOperationName(action);
      const waits = Array.from({ length: 100 }, () => operations(f.waitExecution(name)));
      const blobs = Array.from({ length: 1000 }, () => randomBlob(4096));
      const uploads = await Promise.allSettled(blobs.map((b) => c.upload(b)));
      const failed = uploads.filter((u) => u.status === 'rejected').map((u) => String((u as PromiseRejectedResult).reason));
      assert.deepEqual(failed.slice(0, 3), [], `${failed.length} of 1,000 uploads failed`);
      const ops = await Promise.all([...executes, ...waits]);
      const elapsed = Date.now() - t0;
      for (const stream of ops) assert.equal(responseOf(stream[stream.length - 1]).result?.exitCode, 0);
      assert.equal((await c.findMissing(blobs)).missingBlobDigests.length, 0);
      console.log(`bazel-like: 200 Execute + 100 WaitExecution streams (${elapsed} ms) next to 1,000 concurrent uploads with the default limits; 0 refused`);
    } finally {
      c.close();
    }
  });

  /** The operation name Execute answers for `action` (that first stream is cancelled; the operation goes on). */
  function firstOperationName(action: REv2.IDigest): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const st = f.execute({ actionDigest: action });
      st.once('data', (op: { name: string }) => (resolve(op.name), st.cancel()));
      st.on('error', (e: ServiceError) => e.code !== Code.CANCELLED && reject(e));
    });
  }
});

describe('an Execute stream waiting on its action is not idle', { timeout: 60_000 }, () => {
  let f: Awaited<ReturnType<typeof startExecutionFixture>>;
  before(async () => {
    // Workers heartbeat every 200 ms, well within the 1 s idle timeout.
    f = await startExecutionFixture({ heartbeatIntervalMs: 200 }, undefined, (c) => {
      c.limits = { ...c.limits, idleTimeoutMs: 1000 };
    });
    f.startWorker();
    await waitForWorkers(f, 1);
  });
  after(async () => f?.close());

  it('keeps Execute and WaitExecution streams whose action runs 3 s, three times the idle timeout', async () => {
    const action = await f.action({ args: ['sh', '-c', 'sleep 3; echo done'] });
    const t0 = Date.now();
    const executes = Array.from({ length: 10 }, () => operations(f.execute({ actionDigest: action })));
    await sleep(200);
    const name = await new Promise<string>((resolve, reject) => {
      const st = f.execute({ actionDigest: action });
      st.once('data', (op: { name: string }) => (resolve(op.name), st.cancel()));
      st.on('error', (e: ServiceError) => e.code !== Code.CANCELLED && reject(e));
    });
    const waits = Array.from({ length: 10 }, () => operations(f.waitExecution(name)));
    // Meanwhile, Execute streams that never send their request are idle, and ended.
    const session = http2.connect(`http://${f.address}`);
    const silent = await Promise.all(Array.from({ length: 5 }, () => openSilentStream(session, '/build.bazel.remote.execution.v2.Execution/Execute'))).finally(() => session.close());
    const silentMs = Date.now() - t0;
    for (const r of silent) assert.deepEqual([r.status, r.closed, r.message], [String(Code.DEADLINE_EXCEEDED), true, 'no request message arrived for 1 s (limits.idleTimeout): the server closed Execution.Execute to free its resources; send requests without long pauses (an interrupted ByteStream upload resumes from QueryWriteStatus\'s committed_size)']);
    const ops = await Promise.all([...executes, ...waits]);
    const elapsed = Date.now() - t0;
    for (const stream of ops) assert.equal(responseOf(stream[stream.length - 1]).result?.exitCode, 0);
    assert.ok(elapsed > 2500 && silentMs < elapsed, `the streams waited ${elapsed} ms; the silent ones were ended after ${silentMs} ms`);
    assert.equal(f.scheduler.workerNames.length, 1, 'the worker\'s Connect stream (heartbeats) was not cut either');
    console.log(`not idle: 10 Execute + 10 WaitExecution streams waited ${elapsed} ms with a 1 s idle timeout, all completed; 5 Execute streams that sent no request were ended after ${silentMs} ms`);
  });
});
