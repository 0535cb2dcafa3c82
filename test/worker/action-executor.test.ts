import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import Long from 'long';
import { readBlob } from '../../src/blobstore/blob-io';
import { Digest } from '../../src/digest/digest';
import { SHA256 } from '../../src/digest/digest-function';
import { Code } from '../../src/grpc/status-error';
import { silentLogger } from '../../src/logging/logger';
import { encode, protobuf, re, REv2, rpc, worker, WorkerPb } from '../../src/proto';
import { ActionExecutor } from '../../src/worker/action-executor';
import { FileCache } from '../../src/worker/file-cache';
import { InputRoot } from '../../src/worker/input-root';
import { OutputCollector } from '../../src/worker/output-collector';
import { Runner } from '../../src/worker/runner';
import { RunAs } from '../../src/worker/run-as';
import { digestOf, dirNode, file, putBytes, putDirectory, tempDir } from './worker-fixture';
import { startTestFrontend, TestFrontend } from './frontend-fixture';

/** A real frontend (its CAS) and an executor working under a fresh temp directory. */
async function executorFixture(runAs?: RunAs): Promise<{ dir: string; fe: TestFrontend; executor: ActionExecutor }> {
  const dir = tempDir();
  if (runAs) await fsp.chmod(dir, 0o711); // the user must be able to reach its action directories
  const fe = await startTestFrontend(path.join(dir, 'data'));
  await fsp.mkdir(path.join(dir, 'work'));
  const fileCache = await FileCache.open({ dir: path.join(dir, 'cache'), maxBytes: 1e8, logger: silentLogger() });
  const executor = new ActionExecutor({
    workerName: 'test-worker',
    workDir: path.join(dir, 'work'),
    casFor: (instance) => fe.store(instance),
    inputRoot: new InputRoot({ fileCache }),
    runner: new Runner(),
    outputs: new OutputCollector(),
    logger: silentLogger(),
    runAs,
  });
  return { dir, fe, executor };
}

let assignments = 0;

/** Uploads the Command and Action and returns the assignment a scheduler would send for them. */
async function assignment(fe: TestFrontend, command: REv2.ICommand, inputRoot: Digest, timeoutSeconds = 0): Promise<WorkerPb.Assignment> {
  const store = fe.store();
  const cmd = re.Command.create(command);
  const commandDigest = await putBytes(store, encode(re.Command, cmd));
  const action = re.Action.create({ commandDigest: commandDigest.toProto(), inputRootDigest: inputRoot.toProto() });
  const actionDigest = await putBytes(store, encode(re.Action, action));
  return worker.Assignment.create({
    executionId: `exec-${assignments++}`,
    instanceName: '',
    digestFunction: re.DigestFunction.Value.SHA256,
    actionDigest: actionDigest.toProto(),
    action,
    command: cmd,
    timeout: timeoutSeconds ? { seconds: Long.fromNumber(timeoutSeconds) } : null,
    queuedTimestamp: protobuf.Timestamp.create({ seconds: Long.fromNumber(Math.floor(Date.now() / 1000) - 1) }),
  });
}

describe('ActionExecutor end to end against a real frontend CAS', () => {
  let dir: string;
  let fe: TestFrontend;
  let executor: ActionExecutor;
  before(async () => {
    ({ dir, fe, executor } = await executorFixture());
  });
  after(async () => {
    await fe.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('runs a command from its input root and returns an ActionResult whose outputs are readable from the CAS', async () => {
    const store = fe.store();
    const script = await putBytes(store, '#!/bin/sh\nset -e\nmkdir -p out/dir/sub\ncat src/input.txt > out/copy.txt\necho nested > out/dir/sub/n.txt\necho "to stdout"\necho "to stderr" >&2\nexit 7\n');
    const input = await putBytes(store, 'hello input\n');
    const srcDir = await putDirectory(store, { files: [file('input.txt', input)] });
    const pkg = await putDirectory(store, { files: [file('build.sh', script, true)], directories: [dirNode('src', srcDir)] });
    const root = await putDirectory(store, { directories: [dirNode('pkg', pkg)] });
    const a = await assignment(fe, { arguments: ['./build.sh'], workingDirectory: 'pkg', outputFiles: ['out/copy.txt'], outputDirectories: ['out/dir'] }, root);
    const f = await executor.execute(a, new AbortController().signal);
    assert.equal(f.executionId, a.executionId);
    assert.equal(f.status?.code, Code.OK, f.status?.message ?? '');
    const r = re.ActionResult.create(f.result!);
    assert.equal(r.exitCode, 7);
    assert.equal((await readBlob(store, Digest.fromProto(r.stdoutDigest, SHA256))).toString(), 'to stdout\n');
    assert.equal((await readBlob(store, Digest.fromProto(r.stderrDigest, SHA256))).toString(), 'to stderr\n');
    assert.deepEqual(r.outputFiles.map((o) => o.path), ['out/copy.txt']);
    assert.equal((await readBlob(store, Digest.fromProto(r.outputFiles[0].digest, SHA256))).toString(), 'hello input\n');
    const tree = re.Tree.decode(await readBlob(store, Digest.fromProto(r.outputDirectories[0].treeDigest, SHA256)));
    assert.equal((await readBlob(store, Digest.fromProto(tree.children[0].files![0].digest, SHA256))).toString(), 'nested\n');
    const m = r.executionMetadata!;
    assert.equal(m.worker, 'test-worker');
    const stamps = [m.queuedTimestamp, m.workerStartTimestamp, m.inputFetchStartTimestamp, m.inputFetchCompletedTimestamp, m.executionStartTimestamp, m.executionCompletedTimestamp, m.outputUploadStartTimestamp, m.outputUploadCompletedTimestamp, m.workerCompletedTimestamp];
    const ms = stamps.map((t) => Long.fromValue(t!.seconds!).toNumber() * 1000 + (t!.nanos ?? 0) / 1e6);
    assert.deepEqual([...ms].sort((x, y) => x - y), ms);
    assert.deepEqual(await fsp.readdir(path.join(dir, 'work')), []);
  });

  it('answers FAILED_PRECONDITION listing every missing input blob', async () => {
    const store = fe.store();
    const m1 = digestOf('never uploaded 1');
    const m2 = digestOf('never uploaded 2');
    const root = await putDirectory(store, { files: [file('a', m1), file('b', m2)] });
    const f = await executor.execute(await assignment(fe, { arguments: ['/bin/true'] }, root), new AbortController().signal);
    assert.equal(f.status?.code, Code.FAILED_PRECONDITION);
    const failure = rpc.PreconditionFailure.decode(f.status!.details![0].value!);
    assert.deepEqual(failure.violations.map((v) => v.subject).sort(), [`blobs/${m1}`, `blobs/${m2}`].sort());
    assert.equal(f.result, null);
  });

  it('answers DEADLINE_EXCEEDED with the partial stdout when the timeout kills the command', async () => {
    const root = await putDirectory(fe.store(), {});
    const a = await assignment(fe, { arguments: ['/bin/sh', '-c', 'echo started; sleep 30'] }, root);
    a.timeout = protobuf.Duration.create({ nanos: 300_000_000 });
    const f = await executor.execute(a, new AbortController().signal);
    assert.equal(f.status?.code, Code.DEADLINE_EXCEEDED);
    assert.equal((await readBlob(fe.store(), Digest.fromProto(f.result!.stdoutDigest, SHA256))).toString(), 'started\n');
  });

  it('answers CANCELLED when the execution is cancelled while the command runs', async () => {
    const root = await putDirectory(fe.store(), {});
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const f = await executor.execute(await assignment(fe, { arguments: ['/bin/sh', '-c', 'sleep 30'] }, root), ac.signal);
    assert.equal(f.status?.code, Code.CANCELLED);
  });

  it('answers INVALID_ARGUMENT for an output path outside the input root, before running anything', async () => {
    const root = await putDirectory(fe.store(), {});
    const f = await executor.execute(await assignment(fe, { arguments: ['/bin/true'], outputPaths: ['../escape'] }, root), new AbortController().signal);
    assert.equal(f.status?.code, Code.INVALID_ARGUMENT);
  });
});

// Only root may start processes as another user; CI runs as root (it installs Debian packages).
describe('ActionExecutor with --run-as (an unprivileged user for commands)', { skip: process.getuid?.() !== 0 && 'needs root' }, () => {
  let dir: string;
  let fe: TestFrontend;
  let executor: ActionExecutor;
  before(async () => {
    ({ dir, fe, executor } = await executorFixture({ uid: 65534, gid: 65534 }));
  });
  after(async () => {
    await fe.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('runs the command as that user: it writes outputs and temp files, but cannot modify an input shared with the file cache', async () => {
    const store = fe.store();
    const input = await putBytes(store, 'shared toolchain file\n');
    const script = await putBytes(store, '#!/bin/sh\nid -u\nmkdir -p out scratch\necho made > out/made.txt\necho tmp > scratch/t\nif echo corrupt >> lib/input.txt; then echo WROTE; fi\n');
    const lib = await putDirectory(store, { files: [file('input.txt', input)] });
    const root = await putDirectory(store, { files: [file('run.sh', script, true)], directories: [dirNode('lib', lib)] });
    const a = await assignment(fe, { arguments: ['./run.sh'], outputFiles: ['out/made.txt'] }, root);
    const f = await executor.execute(a, new AbortController().signal);
    assert.equal(f.status?.code, Code.OK, f.status?.message ?? '');
    const r = re.ActionResult.create(f.result!);
    const stdout = (await readBlob(store, Digest.fromProto(r.stdoutDigest, SHA256))).toString();
    const stderr = (await readBlob(store, Digest.fromProto(r.stderrDigest, SHA256))).toString();
    assert.equal(stdout, '65534\n', stderr);
    assert.match(stderr, /Permission denied/);
    assert.equal(r.exitCode, 0);
    assert.equal((await readBlob(store, Digest.fromProto(r.outputFiles[0].digest, SHA256))).toString(), 'made\n');
    // The cache's copy (every later action's input) is untouched.
    const cached = await fsp.readdir(path.join(dir, 'cache', 'files'));
    const contents = await Promise.all(cached.map((c) => fsp.readFile(path.join(dir, 'cache', 'files', c), 'utf8')));
    assert.ok(contents.includes('shared toolchain file\n'), contents.join('|'));
    assert.deepEqual(await fsp.readdir(path.join(dir, 'work')), []);
  });
});
