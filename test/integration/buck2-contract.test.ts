import * as assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Metadata, ServiceError, status } from '@grpc/grpc-js';
import Long from 'long';
import { compress, decompress } from 'zstd-napi';
import { BLAKE3 } from '../../src/digest/digest-function';
import { encode, LongrunningPb, re, REv2 } from '../../src/proto';
import { bytes, num } from '../helpers/blobs';
import { Clients } from '../helpers/clients';
import { ExecutionFixture, responseOf, stageOf, startExecutionFixture, waitForWorkers } from './execution-fixture';

/**
 * Replays what Buck2's open-source RE client sends (see REAPI-NOTES.md): one GetCapabilities per connection, reading
 * only max_batch_total_size_bytes (0 → 4,000,000) and supported_compressors; FindMissingBlobs in batches of 100;
 * small blobs by BatchUpdateBlobs and large ones by ByteStream, zstd when advertised; streaming Execute only (no
 * WaitExecution, no GetTree: a dropped stream is answered by sending Execute again, which must join the run); retries on UNAVAILABLE,
 * RESOURCE_EXHAUSTED and ABORTED up to 5 attempts; ExecutionPolicy.priority; a container-image platform property; no
 * PATH; RequestMetadata with tool_name "buck2"; BLAKE3 digests without digest_function (the instance's default).
 */
class Buck2LikeClient {
  batchLimit = 0;
  advertisedBatchLimit = 0;
  zstd = false;
  findMissingCalls = 0;
  retries = 0;
  readonly buildId = randomUUID();

  constructor(
    private readonly c: Clients,
    private readonly f: ExecutionFixture,
  ) {}

  async connect(): Promise<void> {
    const caps = await this.c.capabilities.getCapabilities({});
    this.advertisedBatchLimit = num(caps.cacheCapabilities?.maxBatchTotalSizeBytes);
    this.batchLimit = Math.min(this.advertisedBatchLimit || 4_000_000, 4_000_000); // its own default config: 4 MB
    this.zstd = (caps.cacheCapabilities?.supportedCompressors ?? []).includes(re.Compressor.Value.ZSTD);
  }

  digest(data: Buffer): REv2.Digest {
    return re.Digest.create({ hash: BLAKE3.hashHex(data), sizeBytes: Long.fromNumber(data.byteLength) });
  }

  async retry<T>(op: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        const code = (err as ServiceError).code;
        if (attempt >= 5 || ![status.UNAVAILABLE, status.RESOURCE_EXHAUSTED, status.ABORTED].includes(code)) throw err;
        this.retries++;
        await new Promise((r) => setTimeout(r, 100 * attempt)); // backoff
      }
    }
  }

  async findMissing(digests: REv2.Digest[]): Promise<REv2.Digest[]> {
    const missing: REv2.Digest[] = [];
    for (let i = 0; i < digests.length; i += 100) {
      this.findMissingCalls++;
      const res = await this.retry(() => this.c.cas.findMissingBlobs({ blobDigests: digests.slice(i, i + 100) }));
      missing.push(...(res.missingBlobDigests as REv2.Digest[]));
    }
    return missing;
  }

  /** Uploads what the CAS lacks: batches up to the limit (zstd), ByteStream (zstd) for the rest; never the empty blob. */
  async upload(blobs: Buffer[]): Promise<void> {
    const byHash = new Map(blobs.filter((b) => b.byteLength > 0).map((b) => [BLAKE3.hashHex(b), b]));
    const missing = await this.findMissing([...byHash.values()].map((b) => this.digest(b)));
    let batch: REv2.BatchUpdateBlobsRequest.IRequest[] = [];
    let batchBytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const res = await this.retry(() => this.c.cas.batchUpdateBlobs({ requests: batch }));
      for (const r of res.responses) assert.equal(r.status?.code ?? 0, 0, r.status?.message ?? '');
      batch = [];
      batchBytes = 0;
    };
    for (const d of missing) {
      const data = byHash.get(d.hash)!;
      const payload = this.zstd ? compress(data) : data;
      if (data.byteLength >= this.batchLimit) {
        await this.retry(() => this.write(d, payload));
        continue;
      }
      if (batchBytes + data.byteLength > this.batchLimit) await flush();
      batch.push({ digest: d, data: payload, compressor: this.zstd ? re.Compressor.Value.ZSTD : re.Compressor.Value.IDENTITY });
      batchBytes += data.byteLength;
    }
    await flush();
  }

  write(d: REv2.Digest, payload: Buffer, uploadId = randomUUID()): Promise<unknown> {
    const name = `uploads/${uploadId}/${this.zstd ? 'compressed-blobs/zstd' : 'blobs'}/${d.hash}/${num(d.sizeBytes)}`;
    const reqs = [];
    for (let o = 0; o < payload.byteLength; o += 1 << 20) {
      reqs.push({ resourceName: o === 0 ? name : '', writeOffset: Long.fromNumber(o), data: payload.subarray(o, o + (1 << 20)), finishWrite: o + (1 << 20) >= payload.byteLength });
    }
    return this.c.byteStream.write(reqs);
  }

  metadata(): Metadata {
    const md = new Metadata();
    const rm = re.RequestMetadata.create({ toolDetails: { toolName: 'buck2', toolVersion: 'contract-test' }, toolInvocationId: this.buildId, actionMnemonic: '' });
    md.set('build.bazel.remote.execution.v2.requestmetadata-bin', encode(re.RequestMetadata, rm));
    return md;
  }

  /**
   * Execute and follow the stream. `dropWhileExecuting` cancels the first stream once the action runs and sends
   * Execute again (Buck2 never calls WaitExecution); `droppedAtMs` is when the first stream went away.
   */
  async execute(actionDigest: REv2.Digest, priority: number, dropWhileExecuting = false): Promise<{ response: REv2.ExecuteResponse; droppedAtMs?: number }> {
    const req = { actionDigest, executionPolicy: { priority }, resultsCachePolicy: { priority: 0 } };
    let droppedAtMs: number | undefined;
    if (dropWhileExecuting) {
      const first = this.f.execute(req, this.metadata());
      first.on('error', () => undefined);
      for await (const op of first as AsyncIterable<LongrunningPb.Operation>) {
        if (stageOf(op) === 'EXECUTING') break;
      }
      droppedAtMs = Date.now();
      first.cancel();
    }
    let last: LongrunningPb.Operation | undefined;
    for await (const op of this.f.execute(req, this.metadata()) as AsyncIterable<LongrunningPb.Operation>) last = op;
    return { response: responseOf(last!), droppedAtMs };
  }

  async readBlob(d: REv2.IDigest): Promise<Buffer> {
    if (num(d.sizeBytes) < this.batchLimit) {
      const res = await this.c.cas.batchReadBlobs({ digests: [d], acceptableCompressors: this.zstd ? [re.Compressor.Value.ZSTD] : [] });
      const r = res.responses[0];
      assert.equal(r.status?.code ?? 0, 0, r.status?.message ?? '');
      return r.compressor === re.Compressor.Value.ZSTD ? decompress(bytes(r.data)) : bytes(r.data);
    }
    return decompress(await this.c.byteStream.read(`compressed-blobs/zstd/${d.hash}/${num(d.sizeBytes)}`));
  }
}

describe('Buck2 client contract (BLAKE3 instance, zstd, real workers)', () => {
  let f: ExecutionFixture;
  let buck: Buck2LikeClient;
  before(async () => {
    f = await startExecutionFixture({}, BLAKE3, (c) => {
      c.instances[''].digestFunction = 'blake3';
    });
    f.startWorker(['--slots', '1', '--property', 'container-image=docker://rustexec-test:1']);
    await waitForWorkers(f, 1);
    buck = new Buck2LikeClient(f.clients, f);
    await buck.connect();
  });
  after(() => f.close());

  const dir = (d: REv2.IDirectory) => encode(re.Directory, re.Directory.create(d as REv2.Directory));

  /** Builds and uploads an action the way Buck2 does; returns its digest. */
  async function prepare(script: string, files: Record<string, Buffer>, salt: string): Promise<REv2.Digest> {
    const entries = Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1));
    const root = dir({ files: entries.map(([name, data]) => ({ name, digest: buck.digest(data), isExecutable: false })) });
    const command = encode(re.Command, re.Command.create({
      arguments: ['sh', '-c', script], // unqualified: Buck2 sends no PATH, the worker's default finds sh
      outputFiles: ['out/big.bin', 'out/small.txt'],
      outputDirectories: ['out/tree'],
      platform: { properties: [{ name: 'OSFamily', value: 'Linux' }, { name: 'container-image', value: 'docker://rustexec-test:1' }] },
    }));
    const action = encode(re.Action, re.Action.create({ commandDigest: buck.digest(command), inputRootDigest: buck.digest(root), salt: Buffer.from(salt),
      platform: { properties: [{ name: 'OSFamily', value: 'Linux' }, { name: 'container-image', value: 'docker://rustexec-test:1' }] } }));
    await buck.upload([command, root, action, ...entries.map(([, data]) => data)]);
    return buck.digest(action);
  }

  it('is advertised a batch limit that admits its full 4,000,000-byte batches, and zstd', async () => {
    assert.ok(buck.advertisedBatchLimit >= 4_000_000, `advertised ${buck.advertisedBatchLimit}`);
    assert.equal(buck.batchLimit, 4_000_000);
    assert.equal(buck.zstd, true);
    const blobs = Array.from({ length: 4 }, () => randomBytes(999_000)); // incompressible: ~4,000,000 bytes on the wire
    await buck.upload(blobs);
    assert.equal((await buck.findMissing(blobs.map((b) => buck.digest(b)))).length, 0);
  });

  it('uploads, executes and downloads a build step end to end with BLAKE3 digests and zstd transfers', async () => {
    // 250 small inputs (3 FindMissing batches) and one 5 MB input (over the batch limit: ByteStream).
    const files: Record<string, Buffer> = { 'big.in': Buffer.from('x'.repeat(5_000_000)) };
    for (let i = 0; i < 250; i++) files[`src${String(i).padStart(3, '0')}.txt`] = Buffer.from(`input ${i} ${randomBytes(8).toString('hex')}\n`);
    const before = buck.findMissingCalls;
    const action = await prepare('mkdir -p out/tree/sub && cat src*.txt > out/small.txt && cat big.in big.in > out/big.bin && echo nested > out/tree/sub/n.txt && echo "$PATH"', files, 'e2e');
    assert.equal(buck.findMissingCalls - before, 3, '252 digests in batches of 100');
    assert.equal((await buck.findMissing([buck.digest(Buffer.alloc(0))])).length, 0, 'the empty blob exists without an upload');

    await assert.rejects(f.clients.ac.getActionResult({ actionDigest: action }), (e: ServiceError) => e.code === status.NOT_FOUND);
    const { response } = await buck.execute(action, 0);
    assert.equal(response.status?.code ?? 0, 0, response.status?.message ?? '');
    const result = response.result as REv2.ActionResult;
    assert.equal(result.exitCode, 0);
    assert.ok(result.executionMetadata?.worker, 'ActionResult.execution_metadata is set');
    assert.equal((await buck.readBlob(result.stdoutDigest!)).toString(), '/usr/local/bin:/usr/bin:/bin\n');

    const big = result.outputFiles.find((o) => o.path === 'out/big.bin')!;
    assert.equal(num(big.digest!.sizeBytes), 10_000_000);
    const bigBytes = await buck.readBlob(big.digest!);
    assert.equal(BLAKE3.hashHex(bigBytes), big.digest!.hash, 'outputs are BLAKE3-hashed by the worker');
    const small = result.outputFiles.find((o) => o.path === 'out/small.txt')!;
    assert.equal((await buck.readBlob(small.digest!)).toString(), Object.entries(files).filter(([n]) => n.startsWith('src')).map(([, d]) => d.toString()).join(''));
    const tree = re.Tree.decode(await buck.readBlob(result.outputDirectories[0].treeDigest!));
    assert.deepEqual((tree.root!.directories ?? []).map((d) => d.name), ['sub']);
    assert.equal((await buck.readBlob(tree.children[0].files![0].digest!)).toString(), 'nested\n');

    const cached = await f.clients.ac.getActionResult({ actionDigest: action });
    assert.deepEqual(cached.outputFiles.map((o) => o.digest?.hash), result.outputFiles.map((o) => o.digest?.hash));
  });

  it('joins a re-sent Execute to the running operation instead of running the action twice', async () => {
    const action = await prepare('sleep 1; mkdir -p out/tree; date +%s%N > out/small.txt', {}, 'resend');
    const { response, droppedAtMs } = await buck.execute(action, 0, true);
    assert.equal(response.status?.code ?? 0, 0);
    const started = response.result!.executionMetadata!.workerStartTimestamp!;
    const startedMs = num(started.seconds) * 1000 + (started.nanos ?? 0) / 1e6;
    assert.ok(startedMs <= droppedAtMs!, 'the result is from the run that started before the first stream dropped');
  });

  it('runs queued actions by ExecutionPolicy.priority (lower first)', async () => {
    const blocker = await prepare('sleep 1; mkdir -p out/tree', {}, 'blocker');
    const low = await prepare('mkdir -p out/tree', {}, 'low');
    const high = await prepare('mkdir -p out/tree', {}, 'high');
    const running = buck.execute(blocker, 0);
    await new Promise((r) => setTimeout(r, 300)); // the only slot is busy; the next two queue
    const [lowRes, highRes] = await Promise.all([buck.execute(low, 100), (async () => {
      await new Promise((r) => setTimeout(r, 100));
      return buck.execute(high, -100);
    })()]);
    await running;
    const start = (r: REv2.ExecuteResponse) => num(r.result!.executionMetadata!.workerStartTimestamp!.seconds) * 1e9 + (r.result!.executionMetadata!.workerStartTimestamp!.nanos ?? 0);
    assert.ok(start(highRes.response) < start(lowRes.response), 'priority -100 started before priority 100, though it arrived later');
  });

  it('gets ABORTED for a concurrent upload of the same stream, retries, and then finds it complete', async () => {
    const data = randomBytes(300_000);
    const d = buck.digest(data);
    const payload = compress(data);
    const uploadId = randomUUID();
    const name = `uploads/${uploadId}/compressed-blobs/zstd/${d.hash}/${data.byteLength}`;
    const first = f.clients.byteStream.openWrite();
    first.send({ resourceName: name, writeOffset: Long.fromNumber(0), data: payload.subarray(0, 1000) });
    for (let i = 0; i < 200 && num((await f.clients.byteStream.queryWriteStatus({ resourceName: name }).catch(() => ({ committedSize: 0 }))).committedSize) < 1000; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const retriesBefore = buck.retries;
    const second = buck.retry(() => f.clients.byteStream.write([{ resourceName: name, writeOffset: Long.fromNumber(0), data: payload, finishWrite: true }]));
    while (buck.retries === retriesBefore) await new Promise((r) => setTimeout(r, 10)); // the first attempt got ABORTED
    first.send({ writeOffset: Long.fromNumber(1000), data: payload.subarray(1000), finishWrite: true });
    first.stream.end();
    assert.equal(num((await first.response).committedSize), payload.byteLength);
    assert.equal(num((await second).committedSize), -1, 'the retry finds the blob stored: a compressed upload finishes with -1');
    assert.equal((await buck.findMissing([d])).length, 0);
  });
});
