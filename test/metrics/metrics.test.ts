import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Long from 'long';
import { after, before, describe, it } from 'node:test';
import { Authenticator } from '../../src/auth/authenticator';
import { SidePort, sidePort, startSidePort } from '../../src/cmd/side-port';
import { parseServerConfig } from '../../src/config/server-config';
import { HttpServer } from '../../src/http/http-server';
import { silentLogger } from '../../src/logging/logger';
import { METRICS, MetricSpec } from '../../src/metrics/catalog';
import { SHA256 } from '../../src/digest/digest-function';
import { BUCKET, S3rverFixture } from '../blobstore/s3/s3rver-fixture';
import { Code, expectStatus } from '../helpers/clients';
import { randomBlob, readName, writeName } from '../helpers/blobs';
import { PrometheusPage, scrape, sumOf } from '../helpers/prometheus-text';
import { ExecutionFixture, operations, responseOf, startExecutionFixture, waitForWorkers } from '../integration/execution-fixture';

const CATALOGUE = Object.values(METRICS) as MetricSpec[];

describe('metric catalogue', () => {
  it('names every metric rustexec_*, with counters ending in _total and durations and sizes in seconds and bytes', () => {
    const names = new Set<string>();
    for (const m of CATALOGUE) {
      assert.match(m.name, /^rustexec_[a-z0-9_]+$/);
      assert.ok(!names.has(m.name), `${m.name} is listed once`);
      names.add(m.name);
      if (m.type === 'counter') assert.match(m.name, /_total$/);
      else assert.doesNotMatch(m.name, /_total$/, `${m.name}: only counters end in _total`);
      if (m.type === 'histogram') assert.match(m.name, /_(seconds|bytes)$/);
      if (/seconds|bytes/.test(m.name)) assert.match(m.name, /_(seconds|bytes)(_total)?$/, `${m.name}: the unit ends the name`);
    }
  });
});

/** A worker process with its own side port; resolves once it logged the port. */
async function startWorkerProcess(scheduler: string, dir: string): Promise<{ child: ChildProcess; http: string }> {
  const child = spawn(process.execPath, [path.join(__dirname, '../../src/cmd/worker.js'), '--scheduler', scheduler, '--http', '127.0.0.1:0', '--work-dir', path.join(dir, 'work'), '--cache-dir', path.join(dir, 'cache')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LOG_PRETTY: '0', LOG_LEVEL: 'info' },
  });
  let buf = '';
  const http = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const m = /"address":"([^"]+)"[^\n]*"msg":"http listening"/.exec(buf);
      if (m) resolve(m[1]);
    });
  });
  child.stdout!.resume();
  return { child, http };
}

describe('metrics of a frontend + scheduler on an S3 tier, and of a worker', () => {
  let s3: S3rverFixture;
  let side: SidePort;
  let f: ExecutionFixture;
  let http: HttpServer;
  let worker: { child: ChildProcess; http: string } | undefined;
  let dir: string;
  const page = () => scrape(`http://${http.address}/metrics`);
  const blob = randomBlob(100_000);

  before(async () => {
    s3 = new S3rverFixture(await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-metrics-s3-')));
    await s3.start();
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    side = sidePort({ http: '127.0.0.1:0' });
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-metrics-'));
    f = await startExecutionFixture(
      {},
      SHA256,
      (config) => {
        const s3c = { endpoint: s3.endpoint, bucket: BUCKET, prefix: 'metrics' };
        const cas = { existenceCaching: { backend: { readCaching: { fast: { filesystem: { path: 'cas', maxBytes: '1gb' } }, slow: { s3: { ...s3c, confirmMissing: true } } } } } };
        config.instances = parseServerConfig(JSON.stringify({ instances: { '': { cas, ac: { s3: s3c } } } }), dir).instances;
      },
      side,
    );
    http = (await startSidePort(side, new Authenticator(undefined), { insecure: false }, silentLogger()))!;
  });
  after(async () => {
    worker?.child.kill('SIGKILL');
    await http?.close();
    await f?.close();
    await s3?.kill();
    if (s3) await fsp.rm(s3.directory, { recursive: true, force: true });
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  it('counts CAS bytes by tier, existence-cache hits, action-cache hits and misses, and S3 requests', async () => {
    const write = await f.clients.byteStream.write([{ resourceName: writeName(blob), writeOffset: Long.fromNumber(0), data: blob.data, finishWrite: true }]);
    assert.equal(Number(write.committedSize), blob.size);
    assert.deepEqual(await f.clients.byteStream.read(readName(blob)), blob.data);
    let p = await page();
    for (const tier of ['existenceCaching', 'existenceCaching/readCaching', 'existenceCaching/readCaching/fast/filesystem', 'existenceCaching/readCaching/slow/s3']) {
      assert.equal(sumOf(p, 'rustexec_cas_written_bytes_total', { tier }), blob.size, `written at ${tier}`);
    }
    assert.equal(sumOf(p, 'rustexec_cas_read_bytes_total', { tier: 'existenceCaching' }), blob.size);
    assert.equal(sumOf(p, 'rustexec_cas_read_bytes_total', { tier: 'existenceCaching/readCaching/fast/filesystem' }), blob.size, 'read from the disk tier');
    assert.equal(sumOf(p, 'rustexec_cas_read_bytes_total', { tier: 'existenceCaching/readCaching/slow/s3' }), 0, 'not from S3');

    const before = p;
    for (let i = 0; i < 2; i++) assert.equal((await f.clients.cas.findMissingBlobs({ blobDigests: [blob.digest] })).missingBlobDigests.length, 0);
    p = await page();
    const delta = (name: string, labels: Record<string, string>) => sumOf(p, name, labels) - sumOf(before, name, labels);
    assert.equal(delta('rustexec_existence_cache_lookups_total', { tier: 'existenceCaching', result: 'hit' }), 2);
    assert.equal(delta('rustexec_existence_cache_lookups_total', { tier: 'existenceCaching', result: 'miss' }), 0);
    assert.equal(delta('rustexec_cas_find_missing_digests_total', { tier: 'existenceCaching/readCaching' }), 0, 'the backend was not asked');

    const action = randomBlob(10).digest;
    await expectStatus(f.clients.ac.getActionResult({ actionDigest: action }), Code.NOT_FOUND);
    await f.clients.ac.updateActionResult({ actionDigest: action, actionResult: { outputFiles: [{ path: 'out', digest: blob.digest }] } });
    await f.clients.ac.getActionResult({ actionDigest: action });
    p = await page();
    assert.equal(sumOf(p, 'rustexec_action_cache_lookups_total', { instance: '', result: 'miss' }), 1);
    assert.equal(sumOf(p, 'rustexec_action_cache_lookups_total', { instance: '', result: 'hit' }), 1);
    assert.equal(sumOf(p, 'rustexec_action_cache_writes_total', { instance: '' }), 1);
    assert.ok(sumOf(p, 'rustexec_s3_requests_total', { method: 'PUT', status: '200' }) >= 2, 'blob and AC entry PUT');
    assert.ok(sumOf(p, 'rustexec_s3_requests_total', { method: 'GET', status: '404' }) >= 1, 'the AC miss');
    assert.equal(sumOf(p, 'rustexec_s3_request_errors_total'), 0);
    assert.ok(sumOf(p, 'rustexec_s3_request_seconds_count') >= 3);
  });

  it('counts an executed action (queue wait, execution time, result), workers and slots, and the worker file cache', async () => {
    worker = await startWorkerProcess(f.address, path.join(f.dataDir, 'metrics-worker'));
    await waitForWorkers(f, 1);
    const input = randomBlob(1000);
    await f.upload(input.data);
    const actionDigest = await f.action({ args: ['/bin/sh', '-c', 'cat in.bin > out.bin'], inputRoot: { files: [{ name: 'in.bin', digest: input.digest }] }, outputFiles: ['out.bin'] });
    const ops = await operations(f.execute({ actionDigest }));
    assert.equal(responseOf(ops.at(-1)!).result?.exitCode, 0);

    const p = await page();
    assert.equal(sumOf(p, 'rustexec_actions_completed_total', { class: 'other', result: 'ok' }), 1);
    assert.equal(sumOf(p, 'rustexec_queue_wait_seconds_count', { class: 'other' }), 1);
    assert.equal(sumOf(p, 'rustexec_execution_seconds_count', { class: 'other' }), 1);
    assert.equal(sumOf(p, 'rustexec_workers_connected'), 1);
    assert.equal(sumOf(p, 'rustexec_worker_slots'), 1);
    assert.equal(sumOf(p, 'rustexec_worker_busy_slots'), 0);
    assert.equal(sumOf(p, 'rustexec_queue_actions'), 0);
    const execute = { service: 'build.bazel.remote.execution.v2.Execution', method: 'Execute', code: 'OK' };
    assert.equal(sumOf(p, 'rustexec_grpc_server_handled_total', execute), 1);

    const w = await scrape(`http://${worker.http}/metrics`);
    assert.equal(sumOf(w, 'rustexec_worker_file_cache_lookups_total', { result: 'miss' }), 1, 'in.bin was fetched once');
    const ready = await fetch(`http://${worker.http}/readyz`);
    assert.deepEqual(await ready.json(), { ready: true, checks: { scheduler: 'ok' } });
  });

  it('exports every catalogued metric with its type, and no rustexec_* metric outside the catalogue', async () => {
    const pages: PrometheusPage[] = [await page(), await scrape(`http://${worker!.http}/metrics`)];
    const types = new Map(pages.flatMap((p) => [...p.types]));
    for (const m of CATALOGUE) assert.equal(types.get(m.name), m.type, `${m.name} is exported as a ${m.type}`);
    const known = new Set(CATALOGUE.map((m) => m.name));
    for (const name of types.keys()) if (name.startsWith('rustexec_')) assert.ok(known.has(name), `${name} is in the catalogue`);
  });
});

describe('README', () => {
  it('lists every catalogued metric', async () => {
    const readme = await fsp.readFile(path.join(__dirname, '../../../README.md'), 'utf8');
    for (const m of CATALOGUE) assert.ok(readme.includes(`\`${m.name}\` | ${m.type} |`), `README lists ${m.name} as a ${m.type}`);
  });
});
