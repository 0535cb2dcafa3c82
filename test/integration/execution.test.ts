import assert from 'node:assert/strict';
import { Metadata, ServiceError, status } from '@grpc/grpc-js';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Code } from '../../src/grpc/status-error';
import { re, rpc } from '../../src/proto';
import { digestOf, ExecutionFixture, operations, responseOf, stageOf, startExecutionFixture, waitForWorkers } from './execution-fixture';

const sh = (script: string) => ['/bin/sh', '-c', script];

describe('Execution service with real worker processes', () => {
  let f: ExecutionFixture;
  let scratch: string;
  before(async () => {
    f = await startExecutionFixture();
    f.startWorker(['--slots', '2']);
    await waitForWorkers(f, 1);
    scratch = await fsp.mkdtemp(path.join(os.tmpdir(), 'exec-scratch-'));
  });
  after(async () => {
    await f.close();
    await fsp.rm(scratch, { recursive: true, force: true });
  });

  it('streams QUEUED, EXECUTING and COMPLETED in order and returns the outputs', async () => {
    const digest = await f.action({ args: sh('echo hello > out.txt; echo to-stderr >&2'), outputPaths: ['out.txt'], salt: 'stages' });
    const ops = await operations(f.execute({ actionDigest: digest }));
    const stages = ops.map(stageOf);
    assert.equal(stages[0], 'QUEUED');
    assert.ok(stages.includes('EXECUTING'), `stages: ${stages}`);
    assert.equal(stages.at(-1), 'COMPLETED');
    assert.deepEqual(stages, [...stages].sort((a, b) => ['QUEUED', 'EXECUTING', 'COMPLETED'].indexOf(a) - ['QUEUED', 'EXECUTING', 'COMPLETED'].indexOf(b)));
    const res = responseOf(ops.at(-1)!);
    assert.equal(res.status?.code ?? 0, 0);
    assert.equal(res.cachedResult, false);
    assert.equal(res.result?.exitCode, 0);
    const out = res.result!.outputFiles!.find((o) => o.path === 'out.txt')!;
    assert.deepEqual(out.digest, digestOf('hello\n'));
    const md = res.result!.executionMetadata!;
    assert.match(md.worker ?? '', /test-/);
    for (const k of ['queuedTimestamp', 'workerStartTimestamp', 'inputFetchStartTimestamp', 'executionStartTimestamp', 'executionCompletedTimestamp', 'outputUploadCompletedTimestamp', 'workerCompletedTimestamp'] as const) {
      assert.ok(md[k], `execution_metadata.${k} is set`);
    }
  });

  it('serves the second Execute of the same action from the cache with cached_result = true', async () => {
    const digest = await f.action({ args: sh('echo cached > c.txt'), outputPaths: ['c.txt'], salt: 'cache' });
    const first = responseOf((await operations(f.execute({ actionDigest: digest }))).at(-1)!);
    assert.equal(first.cachedResult, false);
    const second = responseOf((await operations(f.execute({ actionDigest: digest }))).at(-1)!);
    assert.equal(second.cachedResult, true);
    assert.deepEqual(second.result?.outputFiles![0].digest, first.result?.outputFiles![0].digest);
  });

  it('runs the action again when skip_cache_lookup is set', async () => {
    const digest = await f.action({ args: sh('date +%s%N > t.txt'), outputPaths: ['t.txt'], salt: 'skip' });
    await operations(f.execute({ actionDigest: digest }));
    const again = responseOf((await operations(f.execute({ actionDigest: digest, skipCacheLookup: true }))).at(-1)!);
    assert.equal(again.cachedResult, false);
    assert.ok(again.result?.executionMetadata?.workerStartTimestamp);
  });

  it('returns a non-zero exit code without caching it', async () => {
    const digest = await f.action({ args: sh('echo failing >&2; exit 3'), salt: 'fail' });
    const res = responseOf((await operations(f.execute({ actionDigest: digest, inlineStderr: true }))).at(-1)!);
    assert.equal(res.status?.code ?? 0, 0, 'a failed action is a normal result, not an error status');
    assert.equal(res.result?.exitCode, 3);
    await assert.rejects(f.clients.ac.getActionResult({ actionDigest: digest }), (e: ServiceError) => e.code === status.NOT_FOUND);
    const again = responseOf((await operations(f.execute({ actionDigest: digest }))).at(-1)!);
    assert.equal(again.cachedResult, false);
  });

  it('runs two concurrent identical Executes once: each caller gets its own operation and the same result', async () => {
    const counter = path.join(scratch, 'merge-count');
    const digest = await f.action({ args: sh(`echo run >> ${counter}; sleep 1; echo done > m.txt`), outputPaths: ['m.txt'], salt: 'merge' });
    const [a, b] = await Promise.all([operations(f.execute({ actionDigest: digest })), operations(f.execute({ actionDigest: digest }))]);
    assert.notEqual(a[0].name, b[0].name, 'each caller has its own operation');
    assert.deepEqual(responseOf(a.at(-1)!).result, responseOf(b.at(-1)!).result);
    assert.equal((await fsp.readFile(counter, 'utf8')).trim().split('\n').length, 1, 'the command ran once');
  });

  it('cancels one caller through the Operations API while the other keeps the run; the last cancel stops it on the worker', async () => {
    const counter = path.join(scratch, 'cancel-count');
    const digest = await f.action({ args: sh(`echo run >> ${counter}; sleep 30`), salt: 'cancel' });
    const a = f.execute({ actionDigest: digest });
    const b = f.execute({ actionDigest: digest });
    const firstName = (s: typeof a) => new Promise<string>((resolve) => s.once('data', (op) => resolve(op.name)));
    const [nameA, nameB] = await Promise.all([firstName(a), firstName(b)]);
    const [opsA, opsB] = [operations(a), operations(b)];
    await f.cancelOperation(nameA);
    const endA = responseOf((await opsA).at(-1)!);
    assert.equal(endA.status?.code, Code.CANCELLED, 'the cancelled caller gets CANCELLED');
    while (!(await fsp.readFile(counter, 'utf8').catch(() => ''))) await new Promise((r) => setTimeout(r, 50)); // it runs for B
    const t0 = Date.now();
    await f.cancelOperation(nameB);
    assert.equal(responseOf((await opsB).at(-1)!).status?.code, Code.CANCELLED);
    assert.ok(Date.now() - t0 < 10_000, 'answered at once, not after the 30 s command');
    assert.equal((await fsp.readFile(counter, 'utf8')).trim().split('\n').length, 1, 'one run for both callers');
    await assert.rejects(f.cancelOperation('operations/does-not-exist'), (e: ServiceError) => e.code === status.NOT_FOUND);
    // The worker's slot is free again: a new action runs at once.
    const next = await f.action({ args: sh('echo after > after.txt'), outputPaths: ['after.txt'], salt: 'after-cancel' });
    assert.equal(responseOf((await operations(f.execute({ actionDigest: next }))).at(-1)!).result?.exitCode, 0);
  });

  it('lets WaitExecution re-attach to a running operation, and answers NOT_FOUND for an unknown one', async () => {
    const digest = await f.action({ args: sh('sleep 1; echo w > w.txt'), outputPaths: ['w.txt'], salt: 'wait' });
    const stream = f.execute({ actionDigest: digest });
    stream.on('error', () => undefined); // the CANCELLED we cause below
    const first = await new Promise<string>((resolve) => stream.once('data', (op) => resolve(op.name)));
    stream.cancel();
    const ops = await operations(f.waitExecution(first));
    assert.equal(ops.at(-1)!.done, true);
    assert.equal(responseOf(ops.at(-1)!).result?.exitCode, 0);
    await assert.rejects(operations(f.waitExecution('operations/does-not-exist')), (e: ServiceError) => e.code === status.NOT_FOUND);
  });

  it('kills an action that exceeds Action.timeout and reports DEADLINE_EXCEEDED', async () => {
    const digest = await f.action({ args: sh('sleep 30'), timeoutSeconds: 1, salt: 'timeout' });
    const t0 = Date.now();
    const res = responseOf((await operations(f.execute({ actionDigest: digest }))).at(-1)!);
    assert.equal(res.status?.code, Code.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - t0 < 15_000, 'the action was killed promptly');
  });

  it('reports every missing input blob as a PreconditionFailure', async () => {
    const a = digestOf('never uploaded a');
    const b = digestOf('never uploaded b');
    const digest = await f.action({ args: sh('cat a b'), inputRoot: { files: [{ name: 'a', digest: a }, { name: 'b', digest: b }] }, salt: 'missing' });
    const res = responseOf((await operations(f.execute({ actionDigest: digest }))).at(-1)!);
    assert.equal(res.status?.code, Code.FAILED_PRECONDITION);
    const detail = res.status!.details!.find((d) => d.type_url!.endsWith('google.rpc.PreconditionFailure'))!;
    const violations = rpc.PreconditionFailure.decode(detail.value!).violations;
    assert.deepEqual(violations.map((v) => [v.type, v.subject]).sort(), [
      ['MISSING', `blobs/${a.hash}/${a.sizeBytes}`],
      ['MISSING', `blobs/${b.hash}/${b.sizeBytes}`],
    ].sort());
  });

  it('refuses input trees with unsafe names and outputs outside the root with INVALID_ARGUMENT', async () => {
    const [content] = await f.upload('x');
    const badName = await f.action({ args: sh('true'), inputRoot: { files: [{ name: '../escape', digest: content }] }, salt: 'unsafe-name' });
    const r1 = responseOf((await operations(f.execute({ actionDigest: badName }))).at(-1)!);
    assert.equal(r1.status?.code, Code.INVALID_ARGUMENT);
    const badSymlink = await f.action({ args: sh('true'), inputRoot: { symlinks: [{ name: 'link', target: '../../etc/passwd' }] }, salt: 'unsafe-link' });
    const r2 = responseOf((await operations(f.execute({ actionDigest: badSymlink }))).at(-1)!);
    assert.equal(r2.status?.code, Code.INVALID_ARGUMENT);
    const badOutput = await f.action({ args: sh('true'), outputPaths: ['../outside.txt'], salt: 'unsafe-output' });
    // Output paths are checked by Execute itself, before the action is queued (test/integration/outputs-node-properties).
    await assert.rejects(operations(f.execute({ actionDigest: badOutput })), (err: ServiceError) => err.code === status.INVALID_ARGUMENT && /leaves the input root/.test(err.details));
  });

  it('fails an action whose platform no worker offers with FAILED_PRECONDITION naming the property', async () => {
    const digest = await f.action({ args: sh('true'), platform: [{ name: 'OSFamily', value: 'Windows' }], salt: 'platform' });
    const res = responseOf((await operations(f.execute({ actionDigest: digest }))).at(-1)!);
    assert.equal(res.status?.code, Code.FAILED_PRECONDITION);
    assert.match(res.status!.message ?? '', /OSFamily=Windows/);
  });

  it('collects output_paths: files, directories as Trees, in nested parents it created', async () => {
    const digest = await f.action({ args: sh('echo f > sub/deep/file.txt; mkdir -p dir/inner; echo i > dir/inner/i.txt; chmod +x dir/inner/i.txt'), outputPaths: ['sub/deep/file.txt', 'dir'], salt: 'paths' });
    const res = responseOf((await operations(f.execute({ actionDigest: digest }))).at(-1)!);
    assert.equal(res.result?.exitCode, 0, res.result?.stderrRaw?.toString());
    assert.deepEqual(res.result!.outputFiles!.map((o) => o.path), ['sub/deep/file.txt']);
    const dir = res.result!.outputDirectories!.find((d) => d.path === 'dir')!;
    const [tree] = (await f.clients.cas.batchReadBlobs({ digests: [dir.treeDigest!] })).responses;
    const t = re.Tree.decode(tree.data!);
    assert.deepEqual(t.root!.directories!.map((d) => d.name), ['inner']);
    const inner = t.children.find((c) => c.files!.some((x) => x.name === 'i.txt'))!;
    assert.equal(inner.files![0].isExecutable, true);
  });

  it('collects the older output_files and output_directories fields', async () => {
    const digest = await f.action({ args: sh('mkdir -p d; echo a > a.txt; echo b > d/b.txt'), outputFiles: ['a.txt'], outputDirectories: ['d'], salt: 'old' });
    const res = responseOf((await operations(f.execute({ actionDigest: digest }))).at(-1)!);
    assert.deepEqual(res.result!.outputFiles!.map((o) => [o.path, o.digest]), [['a.txt', digestOf('a\n')]]);
    assert.deepEqual(res.result!.outputDirectories!.map((d) => d.path), ['d']);
  });

  it('passes exactly the given environment and runs in working_directory', async () => {
    const digest = await f.action({ args: sh('env | sort > env.txt; pwd > pwd.txt'), env: { FOO: 'bar' }, workingDirectory: 'wd', outputPaths: ['env.txt', 'pwd.txt'], salt: 'env' });
    const res = responseOf((await operations(f.execute({ actionDigest: digest, inlineOutputFiles: ['env.txt', 'pwd.txt'] }))).at(-1)!);
    assert.equal(res.result?.exitCode, 0, res.result?.stderrRaw?.toString());
    const env = res.result!.outputFiles!.find((o) => o.path === 'env.txt')!;
    const [envBlob] = (await f.clients.cas.batchReadBlobs({ digests: [env.digest!] })).responses;
    const vars = envBlob.data!.toString().trim().split('\n').filter((l) => !/^(PWD|SHLVL|_)=/.test(l));
    assert.deepEqual(vars, ['FOO=bar', 'PATH=/usr/local/bin:/usr/bin:/bin']);
    const pwd = res.result!.outputFiles!.find((o) => o.path === 'pwd.txt')!;
    const [pwdBlob] = (await f.clients.cas.batchReadBlobs({ digests: [pwd.digest!] })).responses;
    assert.match(pwdBlob.data!.toString().trim(), /\/wd$/);
  });

  it('uses the invocation id from RequestMetadata without failing on it', async () => {
    const md = new Metadata();
    md.set('build.bazel.remote.execution.v2.requestmetadata-bin', Buffer.from(re.RequestMetadata.encode({ toolInvocationId: 'inv-1', actionMnemonic: 'Genrule' }).finish()));
    const digest = await f.action({ args: sh('true'), salt: 'metadata' });
    const res = responseOf((await operations(f.execute({ actionDigest: digest }, md))).at(-1)!);
    assert.equal(res.result?.exitCode, 0);
  });
});
