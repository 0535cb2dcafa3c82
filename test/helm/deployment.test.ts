import * as assert from 'node:assert/strict';
import { ChildProcess } from 'node:child_process';
import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bearerTokenInterceptor } from '../../src/auth/bearer-token-interceptor';
import { Digest } from '../../src/digest/digest';
import { SHA256 } from '../../src/digest/digest-function';
import { ContentAddressableStorageService, ExecutionService } from '../../src/grpc/service-definitions';
import { encode, re } from '../../src/proto';
import { acquireBazelLock, bazelInfo, BazelWorkspace, buildFlags, makeWorkspace, parseExecutionLog, runBazel } from '../e2e/bazel-harness';
import { scrape, sumOf } from '../helpers/prometheus-text';
import { buildChartRenderer, RenderedObject } from './chart-renderer';
import { NetnsCluster, waitForPort } from './pod-runner';

type K8sObject = RenderedObject['object'];
const REPO = path.join(__dirname, '../../..');
const CLIENT_TOKEN = 'ci-client-token-0123456789';
const METRICS_TOKEN = 'prometheus-token-0123456789';
const VALUES = {
  image: { appDir: '/app' },
  logLevel: 'warn',
  // s3rver stands in for MinIO and accepts its own fixed credentials.
  minio: { rootUser: 'S3RVER', rootPassword: 'S3RVER' },
  storage: { s3: { listRefresh: '5s' } },
  auth: { clients: [{ name: 'ci', token: CLIENT_TOKEN, instances: ['*'] }], workerToken: 'worker-token-0123456789', metricsToken: METRICS_TOKEN },
  autoscaling: { enabled: false, targetQueuedPerWorker: 8 },
  worker: { replicas: 2, slots: 1 },
};
const BUILD = `
[genrule(name = "a%d" % i, srcs = ["in.txt"], outs = ["a%d.txt" % i], cmd = "cat $< > $@; echo a%d >> $@" % i) for i in range(6)]
genrule(name = "b", srcs = [":a%d" % i for i in range(6)], outs = ["b.txt"], cmd = "cat $(SRCS) | sort > $@")
`;

describe('the rendered chart as processes on network-namespace hosts', () => {
  let cluster: NetnsCluster;
  let release: (() => Promise<void>) | undefined;
  let dir: string;
  let objects: K8sObject[];
  let ws: BazelWorkspace | undefined;
  const workers: ChildProcess[] = [];
  const ips: Record<string, string> = {};
  const metricsOf = (host: string) => scrape(`http://${host}:8981/metrics`, METRICS_TOKEN);
  const find = (kind: string, component: string) => objects.find((o) => o.kind === kind && o.metadata.labels?.['app.kubernetes.io/component'] === component)!;
  const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs = 60_000) => {
    for (const until = Date.now() + timeoutMs; !(await check().catch(() => false)); await new Promise((r) => setTimeout(r, 200))) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    }
  };

  before(async () => {
    const unavailable = NetnsCluster.available();
    if (unavailable) throw new Error(`this test needs network namespaces (run as root with iproute2): ${unavailable}`);
    release = await acquireBazelLock();
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-k8s-'));
    await fsp.chmod(dir, 0o755); // --run-as nobody must reach the workers' directories
    const net24 = `10.213.${process.pid % 200}`;
    const chart = await buildChartRenderer('rx', 'ci');
    // s3rver reads a Host that is neither an IP nor localhost as a bucket name (CNAME-style virtual hosting), so the
    // S3 endpoint is the MinIO host's IP here (the first host: .10) instead of the release's MinIO service name.
    objects = (await chart.render({ ...VALUES, storage: { s3: { ...VALUES.storage.s3, endpoint: `http://${net24}.10:9000` } } })).objects;
    await chart.close();
    cluster = new NetnsCluster(`rx${process.pid % 1000}`, net24, dir, objects);
    await cluster.up();
    ips.minio = cluster.addHost('minio', ['rx-minio']);
    assert.equal(ips.minio, `${net24}.10`);
    ips.scheduler = cluster.addHost('scheduler', ['rx-rustexec-scheduler']);
    ips.frontend0 = cluster.addHost('frontend-0', []);
    ips.frontend1 = cluster.addHost('frontend-1', []);
    ips.service = cluster.addHost('svc-frontend', ['rx-rustexec-frontend']);
    ips.worker0 = cluster.addHost('worker-0', []);
    ips.worker1 = cluster.addHost('worker-1', []);
    await cluster.writeHosts();

    const s3dir = path.join(dir, 's3');
    await fsp.mkdir(s3dir);
    const s3rver = `const S3rver=require(${JSON.stringify(path.join(REPO, 'node_modules/s3rver'))});new S3rver({port:9000,address:'0.0.0.0',silent:true,directory:${JSON.stringify(s3dir)},configureBuckets:[{name:'rustexec'}]}).run()`;
    cluster.exec('minio', [process.execPath, '-e', s3rver], { PATH: process.env.PATH }, path.join(dir, 'minio.log'));
    await waitForPort(ips.minio, 9000);
    await cluster.startPod(find('Deployment', 'scheduler'), 0, 'scheduler', REPO);
    await waitForPort(ips.scheduler, 8980);
    for (const i of [0, 1]) await cluster.startPod(find('Deployment', 'frontend'), i, `frontend-${i}`, REPO);
    for (const i of [0, 1]) await waitForPort(ips[`frontend${i}`], 8980);
    cluster.startServiceProxy('svc-frontend', 8980, [`${ips.frontend0}:8980`, `${ips.frontend1}:8980`]);
    await waitForPort(ips.service, 8980);
    for (const i of [0, 1]) workers.push(await cluster.startPod(find('StatefulSet', 'worker'), i, `worker-${i}`, REPO));
    await waitFor('2 workers registered', async () => sumOf(await metricsOf(ips.scheduler), 'rustexec_workers_connected') === 2);
  });

  after(async () => {
    await ws?.cleanup();
    await cluster?.down();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
    await release?.();
  });

  it('answers probes without a token and /metrics from another host only with the metrics token', async () => {
    for (const host of [ips.scheduler, ips.frontend0, ips.worker0]) {
      assert.equal((await fetch(`http://${host}:8981/readyz`)).status, 200, `${host} ready`);
      assert.equal((await fetch(`http://${host}:8981/metrics`)).status, 401, `${host} /metrics needs a token`);
    }
  });

  it('serves a Bazel build through the frontend Service, correctly, and /metrics counts it', async () => {
    ws = await makeWorkspace({ BUILD, 'in.txt': 'input\n' });
    const flags = [...buildFlags(), `--remote_executor=grpc://${ips.service}:8980`, `--remote_header=authorization=Bearer ${CLIENT_TOKEN}`];
    // Outputs of earlier actions reach the next action's worker through either frontend (#12: a frontend's bucket index
    // that had not yet listed them made the worker fail the action with "input blob(s) missing").
    const log = ws.scratchFile('exec.json');
    await runBazel(ws, ['build', ...flags, `--execution_log_json_file=${log}`, '//...'], { timeoutMs: 240_000 });
    const spawns = await parseExecutionLog(log);
    assert.equal(spawns.length, 7);
    for (const s of spawns) assert.equal(s.runner, 'remote', `${s.progressMessage} ran remotely`);
    const bin = await bazelInfo(ws, 'bazel-bin', flags);
    assert.equal(await fsp.readFile(path.join(bin, 'b.txt'), 'utf8'), [0, 1, 2, 3, 4, 5].flatMap((i) => ['input', `a${i}`]).sort().join('\n') + '\n');

    const sched = await metricsOf(ips.scheduler);
    assert.equal(sumOf(sched, 'rustexec_actions_completed_total', { class: 'other', result: 'ok' }), 7);
    // At least once per action: a run can be retried (e.g. a worker answered before its input reached the other tier).
    assert.ok(sumOf(sched, 'rustexec_queue_wait_seconds_count') >= 7);
    assert.ok(sumOf(sched, 'rustexec_execution_seconds_count') >= 7);
    assert.equal(sched.types.get('rustexec_queue_actions'), 'gauge');
    const frontends = await Promise.all([ips.frontend0, ips.frontend1].map(metricsOf));
    const written = frontends.reduce((n, p) => n + sumOf(p, 'rustexec_cas_written_bytes_total', { tier: 'existenceCaching' }), 0);
    assert.ok(written > 0, 'outputs and inputs were written through the frontends');
    assert.ok(frontends.reduce((n, p) => n + sumOf(p, 'rustexec_s3_requests_total', { method: 'PUT' }), 0) > 0, 'and reached S3');
    const execute = { service: 'build.bazel.remote.execution.v2.Execution', method: 'Execute', code: 'OK' };
    assert.ok(frontends.reduce((n, p) => n + sumOf(p, 'rustexec_grpc_server_handled_total', execute), 0) >= 7);
    const w = await Promise.all([ips.worker0, ips.worker1].map(metricsOf));
    assert.ok(w.reduce((n, p) => n + sumOf(p, 'rustexec_worker_file_cache_lookups_total'), 0) > 0);
  });

  it('autoscaling signal: the queue depth rises while 200 actions wait on one worker, and falls to 0 after', async () => {
    workers[1].kill('SIGTERM');
    await waitFor('one worker left', async () => sumOf(await metricsOf(ips.scheduler), 'rustexec_workers_connected') === 1);
    const okBefore = sumOf(await metricsOf(ips.scheduler), 'rustexec_actions_completed_total', { result: 'ok' });
    const gateDir = await fsp.mkdtemp('/var/tmp/rustexec-gate-'); // not /tmp: actions see a private /tmp
    await fsp.chmod(gateDir, 0o755);
    const gate = path.join(gateDir, 'open');
    const opts = { interceptors: [bearerTokenInterceptor(CLIENT_TOKEN)] };
    const cas = new (makeGenericClientConstructor(ContentAddressableStorageService, 'Cas'))(`${ips.service}:8980`, credentials.createInsecure(), opts) as unknown as Record<string, Function> & { close(): void };
    const exec = new (makeGenericClientConstructor(ExecutionService, 'Execution'))(`${ips.service}:8980`, credentials.createInsecure(), opts) as unknown as Record<string, Function> & { close(): void };
    try {
      const root = encode(re.Directory, re.Directory.create({}));
      const command = encode(re.Command, re.Command.create({ arguments: ['/bin/sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done`] }));
      const d = (b: Uint8Array) => Digest.compute(b, SHA256).toProto();
      const actions = Array.from({ length: 200 }, (_, i) => encode(re.Action, re.Action.create({ commandDigest: d(command), inputRootDigest: d(root), doNotCache: true, salt: Buffer.from(`autoscale-${i}`) })));
      await new Promise((resolve, reject) =>
        cas.batchUpdateBlobs(re.BatchUpdateBlobsRequest.create({ requests: [root, command, ...actions].map((data) => ({ digest: d(data), data })) }), (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))),
      );
      const done = actions.map(
        (a) =>
          new Promise<void>((resolve, reject) => {
            const s = exec.execute(re.ExecuteRequest.create({ actionDigest: d(a), skipCacheLookup: true }));
            s.on('data', () => undefined);
            s.on('end', resolve);
            s.on('error', reject);
          }),
      );
      const target = VALUES.autoscaling.targetQueuedPerWorker;
      let peak = 0;
      await waitFor('199 queued behind the one running action', async () => {
        peak = sumOf(await metricsOf(ips.scheduler), 'rustexec_queue_actions');
        return peak === 199;
      });
      // The chart's rule: workers = ceil(sum(rustexec_queue_actions) / targetQueuedPerWorker).
      assert.equal(Math.ceil(peak / target), 25, 'the autoscaler would ask for 25 workers (capped by maxReplicas)');
      await fsp.writeFile(gate, '');
      await Promise.all(done);
      const after = await metricsOf(ips.scheduler);
      assert.equal(sumOf(after, 'rustexec_queue_actions'), 0);
      assert.ok(after.samples.some((s) => s.name === 'rustexec_queue_actions' && s.value === 0), 'a 0 sample, not a gap');
      assert.equal(Math.ceil(sumOf(after, 'rustexec_queue_actions') / target), 0);
      assert.equal(sumOf(after, 'rustexec_actions_completed_total', { result: 'ok' }) - okBefore, 200);
    } finally {
      cas.close();
      exec.close();
      await fsp.rm(gateDir, { recursive: true, force: true });
    }
  });
});

