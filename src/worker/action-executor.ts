import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { BlobStore } from '../blobstore/blob-store';
import { Digest } from '../digest/digest';
import { DIGEST_FUNCTIONS, DigestFunction, digestFunctionById, digestFunctionLabel } from '../digest/digest-function';
import { Code, invalidArgument, StatusError, toStatusError } from '../grpc/status-error';
import { OK_STATUS, toRpcStatus } from '../grpc/rpc-status';
import { re, REv2, rpc, worker, WorkerPb } from '../proto';
import { digestFile, uploadBlobs } from './blob-uploader';
import { putBlob } from '../blobstore/blob-io';
import { ExecutionEvents, Executor } from './executor';
import { ProcessGroupCpu } from './process-group-cpu';
import { waitForRmeta } from './rmeta-watcher';
import { InputRoot, ownInode } from './input-root';
import { wantedOutputProperties } from './node-properties';
import { OutputCollector } from './output-collector';
import { relativeComponents } from './path-safety';
import { removeTree } from './remove-tree';
import { Runner } from './runner';
import { wantsNetwork } from './sandbox';
import { chownDirectories, RunAs } from './run-as';
import { durationMs, toTimestamp } from '../util/proto-time';

export interface ActionExecutorOptions {
  workerName: string;
  /** Each execution gets `{workDir}/{execution_id}/` as its input root; stdout/stderr go next to it. */
  workDir: string;
  /** The CAS of an instance (outputs are uploaded there; the worker never writes the action cache). */
  casFor: (instanceName: string) => BlobStore;
  inputRoot: InputRoot;
  runner: Runner;
  outputs: OutputCollector;
  logger: Logger;
  /** Used when neither the assignment nor the action sets a timeout. */
  defaultTimeoutMs?: number;
  /** Run commands as this unprivileged user (the worker must be root); inputs stay root-owned and read-only. */
  runAs?: RunAs;
  now?: () => number;
}

/** The whole pipeline for one assignment: input root → run → upload outputs → ExecutionFinished. */
export class ActionExecutor implements Executor {
  private readonly now: () => number;

  constructor(private readonly o: ActionExecutorOptions) {
    this.now = o.now ?? Date.now;
  }

  /**
   * For a fused rustc run: once the .rmeta is in place, upload it with stdout/stderr as printed so far (snapshots:
   * rustc goes on writing) and report the metadata action's result while the full compile continues.
   */
  private async reportRmeta(w: RmetaWatch): Promise<void> {
    try {
      const rel = relativeComponents(w.a.watchRmeta, 'watch_rmeta');
      if (!(await waitForRmeta(path.join(w.cwd, ...rel), w.stderrPath, w.signal))) return;
      const cpuSeconds = (await w.cpu()?.sample()) ?? 0;
      const [stdout, stderr, rmeta] = await Promise.all([fsp.readFile(w.stdoutPath), fsp.readFile(w.stderrPath), fsp.readFile(path.join(w.cwd, ...rel))]);
      const digests = [stdout, stderr, rmeta].map((b) => Digest.compute(b, w.fn));
      await Promise.all(digests.map((d, i) => putBlob(w.store, d, [stdout, stderr, rmeta][i]).catch((err) => {
        if (!(err instanceof StatusError && err.code === Code.ALREADY_EXISTS)) throw err;
      })));
      const meta = re.ExecutedActionMetadata.create({ ...w.meta, executionCompletedTimestamp: toTimestamp(this.now()), workerCompletedTimestamp: toTimestamp(this.now()) });
      const result = re.ActionResult.create({
        outputFiles: [{ path: rel.join('/'), digest: digests[2].toProto(), isExecutable: false }],
        exitCode: 0,
        stdoutDigest: digests[0].toProto(),
        stderrDigest: digests[1].toProto(),
        executionMetadata: meta,
      });
      w.log.debug({ rmeta: w.a.watchRmeta, cpuSeconds }, 'rmeta ready');
      w.events.rmetaReady?.({ executionId: w.a.executionId, result, cpuSeconds });
    } catch (err) {
      // The full run still completes; the scheduler then answers the metadata action from the final result.
      w.log.warn({ err: toStatusError(err).message }, 'could not report the .rmeta early');
    }
  }

  async execute(a: WorkerPb.Assignment, signal: AbortSignal, events: ExecutionEvents = {}): Promise<WorkerPb.ExecutionFinished> {
    const ts = () => toTimestamp(this.now());
    const meta = re.ExecutedActionMetadata.create({ worker: this.o.workerName, queuedTimestamp: a.queuedTimestamp, workerStartTimestamp: ts() });
    const log = this.o.logger.child({ execution_id: a.executionId, action: a.actionDigest ? `${a.actionDigest.hash}/${a.actionDigest.sizeBytes}` : undefined });
    const root = path.join(this.o.workDir, safeName(a.executionId));
    const stdoutPath = `${root}.stdout`;
    const stderrPath = `${root}.stderr`;
    let cpu: ProcessGroupCpu | undefined;
    const finished = (status: WorkerPb.ExecutionFinished['status'], result?: REv2.IActionResult) =>
      worker.ExecutionFinished.create({ executionId: a.executionId, status, result: result ?? null, cpuSeconds: cpu?.seconds ?? 0 });
    const runEnded = new AbortController();
    let phase = 'preparing';
    try {
      const fn = digestFunctionOf(a);
      const store = this.o.casFor(a.instanceName);
      if (!a.action || !a.command) throw invalidArgument('the assignment carries no Action or Command');
      const command = a.command;
      const inputRoot = Digest.fromProto(a.action.inputRootDigest, fn, 'action.input_root_digest');
      const specs = this.o.outputs.specs(command);
      const wanted = wantedOutputProperties(command);
      const cwd = path.join(root, ...relativeComponents(command.workingDirectory ?? '', 'working_directory'));
      await removeTree(root);

      phase = 'fetching the input root';
      meta.inputFetchStartTimestamp = ts();
      const tree = await this.o.inputRoot.materialize(store, inputRoot, root, signal, a.inputDirectories);
      meta.inputFetchCompletedTimestamp = ts();
      log.debug({ files: tree.files.length, dirs: tree.dirs.length }, 'input root ready');
      await fsp.mkdir(cwd, { recursive: true });
      await this.o.outputs.prepare(root, specs);
      if (this.o.runAs) {
        await chownDirectories(root, this.o.runAs);
        // Inputs with their own mode get their own inode: the action's user owns it, so the mode means what it says.
        for (const f of tree.files) if (ownInode(f)) await fsp.chown(path.join(root, f.path), this.o.runAs.uid, this.o.runAs.gid);
      }
      await this.o.inputRoot.finishDirectories(root, tree);

      const timeoutMs = durationMs(a.timeout) || durationMs(a.action.timeout) || (this.o.defaultTimeoutMs ?? 3_600_000);
      phase = 'running the command';
      meta.executionStartTimestamp = ts();
      const onSpawn = (pid: number) => {
        cpu = new ProcessGroupCpu(pid);
        cpu.start();
      };
      const rmeta = a.watchRmeta
        ? this.reportRmeta({ a, cwd, stdoutPath, stderrPath, store, fn, meta, events, signal: runEnded.signal, cpu: () => cpu, log })
        : Promise.resolve();
      const run = await this.o.runner
        .run({ argv: command.arguments ?? [], env: envOf(command), cwd, stdoutPath, stderrPath, timeoutMs, signal, onSpawn, runAs: this.o.runAs, sandbox: { root, cwd, network: wantsNetwork(a.action, command) } })
        .finally(() => {
          cpu?.stop();
          runEnded.abort();
        });
      await rmeta;
      meta.executionCompletedTimestamp = ts();
      if (run.cancelled) throw cancelled();

      phase = 'collecting outputs';
      meta.outputUploadStartTimestamp = ts();
      const [stdoutDigest, stderrDigest] = await Promise.all([digestFile(stdoutPath, fn), digestFile(stderrPath, fn)]);
      await uploadBlobs(store, [{ digest: stdoutDigest, file: stdoutPath }, { digest: stderrDigest, file: stderrPath }]);
      // After a timeout the outputs are likely incomplete: report only what explains the failure.
      const legacy = (command.outputPaths ?? []).length === 0;
      const outputs = run.timedOut ? {} : await this.o.outputs.collect(store, fn, root, specs, legacy, command.outputDirectoryFormat ?? 0, wanted);
      meta.outputUploadCompletedTimestamp = ts();
      meta.workerCompletedTimestamp = ts();
      const result = re.ActionResult.create({ ...outputs, exitCode: run.exitCode, stdoutDigest: stdoutDigest.toProto(), stderrDigest: stderrDigest.toProto(), executionMetadata: meta });
      if (run.timedOut) {
        log.info({ timeoutMs }, 'action timed out; process group killed');
        return finished(rpc.Status.create({ code: Code.DEADLINE_EXCEEDED, message: `the command did not finish within its timeout of ${timeoutMs / 1000}s and was killed` }), result);
      }
      log.info({ exitCode: run.exitCode, outputs: result.outputFiles.length + result.outputDirectories.length }, 'action finished');
      return finished(OK_STATUS, result);
    } catch (err) {
      const status = signal.aborted ? toRpcStatus(cancelled()) : toRpcStatus(diskFullError(err, phase, this.o));
      (status.code === Code.INTERNAL ? log.error.bind(log) : log.info.bind(log))({ code: Code[status.code], err: status.message }, 'action failed');
      return finished(status);
    } finally {
      runEnded.abort();
      cpu?.stop();
      await Promise.all([removeTree(root), fsp.rm(stdoutPath, { force: true }), fsp.rm(stderrPath, { force: true })]).catch((err) =>
        log.warn({ err }, 'could not clean up the action directory'),
      );
    }
  }
}

/** ENOSPC on the worker fails the action with where the disk filled up; the worker itself carries on. */
function diskFullError(err: unknown, phase: string, o: ActionExecutorOptions): unknown {
  const s = toStatusError(err);
  if (s.code !== Code.RESOURCE_EXHAUSTED || !/ENOSPC|EDQUOT|no space/i.test(s.message)) return err;
  return new StatusError(
    Code.RESOURCE_EXHAUSTED,
    `worker "${o.workerName}" ran out of disk space while ${phase} (work dir ${o.workDir} and its file cache): ${s.message}; free space there or lower the worker's --cache-max-bytes`,
  );
}

interface RmetaWatch {
  a: WorkerPb.Assignment;
  cwd: string;
  stdoutPath: string;
  stderrPath: string;
  store: BlobStore;
  fn: DigestFunction;
  meta: REv2.ExecutedActionMetadata;
  events: ExecutionEvents;
  signal: AbortSignal;
  cpu: () => ProcessGroupCpu | undefined;
  log: Logger;
}

function cancelled(): StatusError {
  return new StatusError(Code.CANCELLED, 'the execution was cancelled; its process group was killed');
}

function digestFunctionOf(a: WorkerPb.Assignment): DigestFunction {
  const byId = digestFunctionById(a.digestFunction);
  if (byId) return byId;
  // UNKNOWN (0): REAPI infers the function from the hash length.
  const len = a.actionDigest?.hash?.length;
  const byLength = a.digestFunction === re.DigestFunction.Value.UNKNOWN ? DIGEST_FUNCTIONS.find((f) => f.inferredFromLength && f.hexLength === len) : undefined;
  if (byLength) return byLength;
  throw invalidArgument(`digest function ${digestFunctionLabel(a.digestFunction)} is not supported by this worker (supported: ${DIGEST_FUNCTIONS.map((f) => f.name).join(', ')})`);
}

function envOf(command: REv2.ICommand): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of command.environmentVariables ?? []) env[v.name ?? ''] = v.value ?? '';
  return env;
}

/** Execution ids come from the scheduler; anything that is not a plain file name is hashed. */
function safeName(id: string): string {
  return /^[A-Za-z0-9_.-]{1,100}$/.test(id) && id !== '.' && id !== '..' ? id : createHash('sha256').update(id).digest('hex');
}
