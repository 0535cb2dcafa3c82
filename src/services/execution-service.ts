import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { readBlob } from '../blobstore/blob-io';
import { Digest } from '../digest/digest';
import { serverStreaming, writeMessage } from '../grpc/handlers';
import { Code, StatusError } from '../grpc/status-error';
import { toRpcStatus } from '../grpc/rpc-status';
import { longrunning, LongrunningPb, packAny, re, REv2, worker } from '../proto';
import { Execution, Stage } from '../scheduler/execution';
import { requiredPlatform } from '../scheduler/platform';
import { Scheduler } from '../scheduler/scheduler';
import { inlineOutputs } from './inline-outputs';
import { Instance, Instances } from './instance';
import { missingBlobsError } from '../grpc/missing-blobs-error';
import { checkInputs } from './check-inputs';
import { validateCommand } from './validate-command';
import { requestMetadata } from './request-metadata';
import { SubmitObserver } from './submitted-action';
import { durationMs } from '../util/proto-time';
import { classifyCommand, RustcCommand } from '../rust/rustc-command';
import { pairKey } from '../rust/pair-key';
import { crateDeps, crateOf } from '../rust/crate-deps';
import { locateParamFile } from '../rust/param-file';
import { ExecutionRequest, RustActionInfo } from '../scheduler/execution';

export interface ExecutionServiceOptions {
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  maxInlineBytes: number;
  /** Re-send the current state this often so idle streams are not cut by proxies. */
  keepaliveMs?: number;
  /** Sees each action handed to the scheduler, with what only Execute knows (the dashboard records it). */
  onSubmit?: SubmitObserver;
}

type OpStream = ServerWritableStream<unknown, LongrunningPb.Operation>;

/** Input Directories up to this size travel with the assignment to the worker. */
const MAX_SHIPPED_DIRECTORY_BYTES = 4 * 1024 * 1024;

export function executionService(instances: Instances, scheduler: Scheduler, options: ExecutionServiceOptions, logger: Logger): UntypedServiceImplementation {
  // Sends the current state, then every stage change (or the same state again as a keepalive), until done.
  // While a stream follows the operation it stays wanted; once none does, the scheduler may cancel it after a grace period.
  const stream = async (call: OpStream, e: Execution, inline: REv2.ExecuteRequest | undefined, inst: Instance) => {
    const release = e.watch();
    try {
      await writeMessage(call, await operationOf(e, inst, inline, options.maxInlineBytes));
      while (!e.done && !call.cancelled) {
        await nextChange(e, call, options.keepaliveMs ?? 30_000);
        if (!call.cancelled) await writeMessage(call, await operationOf(e, inst, inline, options.maxInlineBytes));
      }
    } finally {
      release();
    }
  };

  return {
    execute: serverStreaming(logger, 'Execute', async (req: REv2.ExecuteRequest, call: OpStream) => {
      const { inst, fn } = instances.request(req.instanceName, req.digestFunction, req.actionDigest?.hash);
      const actionDigest = Digest.fromProto(req.actionDigest, fn, 'action_digest');
      const meta = requestMetadata(call.metadata);
      const log = logger.child({ action: actionDigest.toString(), mnemonic: meta?.actionMnemonic || undefined });

      const action = await loadProto(inst, actionDigest, re.Action, 'Action');
      const commandDigest = Digest.fromProto(action.commandDigest, fn, 'action.command_digest');
      const inputRoot = Digest.fromProto(action.inputRootDigest, fn, 'action.input_root_digest');
      const timeoutMs = resolveTimeout(action, options);

      if (!req.skipCacheLookup && !action.doNotCache) {
        const cached = await inst.ac.get(actionDigest);
        if (cached) {
          log.debug('served from the action cache');
          scheduler.cacheHit({ invocationId: meta?.toolInvocationId ?? '', instanceName: inst.name, actionDigest: actionDigest.toString(), mnemonic: meta?.actionMnemonic || undefined });
          const response = re.ExecuteResponse.create({ result: await inlineOutputs(inst.cas, fn, cached, req, options.maxInlineBytes), cachedResult: true, status: { code: 0 } });
          await writeMessage(call, completedOperation(`operations/cached-${actionDigest.hash}`, actionDigest, inst, response));
          return;
        }
      }
      const command = await loadProto(inst, commandDigest, re.Command, 'Command');
      validateCommand(command);
      const { missing, directories, files, fileBytes } = await checkInputs(inst.cas, inputRoot);
      if (missing.length > 0) {
        log.info({ missing: missing.length }, 'inputs missing');
        const response = re.ExecuteResponse.create({ status: toRpcStatus(missingBlobsError(missing, 'input blob')) });
        await writeMessage(call, completedOperation(`operations/missing-${actionDigest.hash}`, actionDigest, inst, response));
        return;
      }
      const rc = classifyCommand(command);
      const rust = rc.kind === 'other' ? undefined : await rustActionInfo(inst, action, command, rc, inputRoot, directories);
      if (rust) log.debug({ rust: rust.kind, crate: rust.crateName, paired: !!rust.pairKey }, 'rustc action');
      const request: ExecutionRequest = {
        rust,
        instanceName: inst.name,
        digestFunction: fn,
        actionDigest,
        action,
        command,
        platform: requiredPlatform(action, command),
        priority: req.executionPolicy?.priority ?? 0,
        invocationId: meta?.toolInvocationId ?? '',
        timeoutMs,
        mnemonic: meta?.actionMnemonic || undefined,
        // Saves the worker a round trip per tree level; a huge tree is left for the worker to fetch.
        inputDirectories: shippable([...directories.values()]),
      };
      options.onSubmit?.({ request, metadata: meta, inputFiles: files, inputBytes: fileBytes });
      const execution = scheduler.submit(request);
      await stream(call, execution, req, inst);
    }),

    waitExecution: serverStreaming(logger, 'WaitExecution', async (req: REv2.WaitExecutionRequest, call: OpStream) => {
      const e = scheduler.operation(req.name);
      if (!e) throw new StatusError(Code.NOT_FOUND, `operation "${req.name}" is unknown or expired; call Execute again`);
      await stream(call, e, undefined, instances.get(e.request.instanceName));
    }),
  };
}

function nextChange(e: Execution, call: OpStream, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const stage = e.stage;
    const done = () => {
      clearTimeout(timer);
      unsubscribe();
      call.off('cancelled', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    const unsubscribe = e.subscribe((ex) => {
      if (ex.stage !== stage || ex.done) done();
    });
    call.on('cancelled', done);
    if (e.done) done();
  });
}

async function loadProto<T>(inst: Instance, digest: Digest, type: { decode(b: Uint8Array): T }, what: string): Promise<T> {
  let bytes: Buffer;
  try {
    bytes = await readBlob(inst.cas, digest);
  } catch (err) {
    if (err instanceof StatusError && err.code === Code.NOT_FOUND) throw missingBlobsError([digest], `${what} blob`);
    throw err;
  }
  try {
    return type.decode(bytes);
  } catch (err) {
    throw new StatusError(Code.INVALID_ARGUMENT, `${what} ${digest} is not a valid ${what} message: ${(err as Error).message}`);
  }
}

/**
 * What the scheduler needs to know of a rustc action: its class, pair key and place in the crate graph (best effort).
 * The param file is found through the Directories the input check just read.
 */
async function rustActionInfo(inst: Instance, action: REv2.Action, command: REv2.Command, rc: RustcCommand, root: Digest, read: Map<string, Buffer>): Promise<RustActionInfo> {
  const readDirectory = async (d: Digest) => read.get(d.key) ?? readBlob(inst.cas, d);
  const params = await locateParamFile(readDirectory, command.workingDirectory ?? '', rc, root).catch(() => undefined);
  const deps = await crateDeps(inst.cas, command, params).catch(() => undefined);
  return { kind: rc.kind, crateName: rc.crateName, rmetaPath: rc.rmetaPath, rlibPath: rc.rlibPath, pairKey: pairKey(action, command, rc, params), crate: crateOf(rc, command), deps };
}

/** Input Directories travel with the assignment unless together they exceed MAX_SHIPPED_DIRECTORY_BYTES. */
function shippable(directories: Buffer[]): Buffer[] | undefined {
  return directories.reduce((n, b) => n + b.length, 0) <= MAX_SHIPPED_DIRECTORY_BYTES ? directories : undefined;
}

function resolveTimeout(action: REv2.Action, o: ExecutionServiceOptions): number {
  const t = action.timeout;
  if (!t || (Number(t.seconds ?? 0) === 0 && !t.nanos)) return o.defaultTimeoutMs;
  const ms = durationMs(t);
  if (ms <= 0) throw new StatusError(Code.INVALID_ARGUMENT, `action timeout must be positive`);
  if (ms > o.maxTimeoutMs) throw new StatusError(Code.INVALID_ARGUMENT, `action timeout ${ms / 1000}s exceeds this server's maximum of ${o.maxTimeoutMs / 1000}s`);
  return ms;
}

const STAGE: Record<Stage, number> = { QUEUED: re.ExecutionStage.Value.QUEUED, EXECUTING: re.ExecutionStage.Value.EXECUTING, COMPLETED: re.ExecutionStage.Value.COMPLETED };

/** ExecuteOperationMetadata for a stage; rustc actions also carry their class as auxiliary metadata. */
function operationMetadata(stage: Stage, actionDigest: Digest, inst: Instance, rust?: Execution['request']['rust']) {
  const partialExecutionMetadata = rust ? { auxiliaryMetadata: [packAny(worker.ActionClass, worker.ActionClass.create({ kind: rust.kind, crateName: rust.crateName ?? '', fused: !!rust.pairKey }))] } : undefined;
  return packAny(re.ExecuteOperationMetadata, re.ExecuteOperationMetadata.create({ stage: STAGE[stage], actionDigest: actionDigest.toProto(), digestFunction: actionDigest.fn.id, partialExecutionMetadata }));
}

async function operationOf(e: Execution, inst: Instance, inline: REv2.ExecuteRequest | undefined, maxInlineBytes: number): Promise<LongrunningPb.Operation> {
  const metadata = operationMetadata(e.stage, e.request.actionDigest, inst, e.request.rust);
  if (!e.done || !e.response) return longrunning.Operation.create({ name: e.operationName, metadata, done: false });
  let response = e.response;
  if (inline && response.result && (inline.inlineStdout || inline.inlineStderr || inline.inlineOutputFiles.length)) {
    const result = await inlineOutputs(inst.cas, e.request.actionDigest.fn, response.result as REv2.ActionResult, inline, maxInlineBytes).catch(() => response.result as REv2.ActionResult);
    response = re.ExecuteResponse.create({ ...response, result });
  }
  return longrunning.Operation.create({ name: e.operationName, metadata, done: true, response: packAny(re.ExecuteResponse, response) });
}

function completedOperation(name: string, actionDigest: Digest, inst: Instance, response: REv2.ExecuteResponse): LongrunningPb.Operation {
  return longrunning.Operation.create({ name, metadata: operationMetadata('COMPLETED', actionDigest, inst), done: true, response: packAny(re.ExecuteResponse, response) });
}
