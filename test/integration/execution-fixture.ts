import { ChildProcess, fork } from 'node:child_process';
import { ClientReadableStream, credentials, makeGenericClientConstructor, Metadata } from '@grpc/grpc-js';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Long from 'long';
import { executionServices } from '../../src/cmd/execution-services';
import { Frontend, startFrontend } from '../../src/cmd/frontend';
import { SidePort } from '../../src/cmd/side-port';
import { schedulerMetrics } from '../../src/metrics/scheduler-metrics';
import { defaultConfig, ServerConfig } from '../../src/config/server-config';
import { Digest } from '../../src/digest/digest';
import { DigestFunction, SHA256 } from '../../src/digest/digest-function';
import { ExecutionService, OperationsService } from '../../src/grpc/service-definitions';
import { silentLogger } from '../../src/logging/logger';
import { encode, longrunning, LongrunningPb, re, REv2 } from '../../src/proto';
import { Scheduler } from '../../src/scheduler/scheduler';
import { SchedulerInsight } from '../../src/scheduler/scheduler-observer';
import { Clients, createClients } from '../helpers/clients';

export interface ExecutionFixture {
  address: string;
  dataDir: string;
  clients: Clients;
  scheduler: Scheduler;
  /** What metrics and the dashboard see: events, snapshots, builds, crate graph. */
  insight: SchedulerInsight;
  execute(req: REv2.IExecuteRequest, metadata?: Metadata): ClientReadableStream<LongrunningPb.Operation>;
  waitExecution(name: string): ClientReadableStream<LongrunningPb.Operation>;
  /** google.longrunning.Operations.CancelOperation. */
  cancelOperation(name: string): Promise<void>;
  /** Uploads blobs (protos are encoded first) and returns their digests. */
  upload(...blobs: (Buffer | string)[]): Promise<REv2.Digest[]>;
  /** Uploads a Command, its input root and the Action; returns the action digest. */
  action(opts: ActionSpec): Promise<REv2.Digest>;
  startWorker(args?: string[]): ChildProcess;
  close(): Promise<void>;
}

/**
 * Tests here watch actions through files outside their directories (run counters, markers), which the sandbox
 * forbids: fixture workers run unsandboxed unless a test passes `--sandbox auto|bwrap` (test/worker/sandbox.test.ts
 * covers the sandbox, and the all-in-one's workers in the e2e tests run sandboxed).
 */
const SANDBOX = ['--sandbox', 'none'];

export interface ActionSpec {
  args: string[];
  env?: Record<string, string>;
  inputRoot?: REv2.IDirectory;
  /** Extra directories the input root refers to, uploaded too. */
  directories?: REv2.IDirectory[];
  outputPaths?: string[];
  outputFiles?: string[];
  outputDirectories?: string[];
  outputNodeProperties?: string[];
  workingDirectory?: string;
  timeoutSeconds?: number;
  doNotCache?: boolean;
  platform?: { name: string; value: string }[];
  salt?: string;
}

export function digestOf(data: Buffer | string, fn: DigestFunction = SHA256): REv2.Digest {
  return Digest.compute(Buffer.from(data), fn).toProto();
}

/**
 * A frontend with the scheduler and Execution service in-process, plus real worker processes. `fn` is the digest
 * function the fixture's uploads and actions use (sent as digest_function when it is not the default SHA-256).
 */
export async function startExecutionFixture(
  overrides: Partial<ServerConfig['execution']> = {},
  fn: DigestFunction = SHA256,
  /** Last word on the server config (e.g. an instance whose default digest function is BLAKE3). */
  configure: (c: ServerConfig) => void = () => undefined,
  /** Record metrics and readiness here (a side port built by the test). */
  side?: SidePort,
): Promise<ExecutionFixture> {
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-exec-'));
  const config: ServerConfig = { ...defaultConfig(dataDir), listen: '127.0.0.1:0' };
  config.execution = { ...config.execution, ...overrides };
  configure(config);
  let scheduler!: Scheduler;
  let insight!: SchedulerInsight;
  const frontend: Frontend = await startFrontend(
    config,
    silentLogger(),
    executionServices(config.execution, config.maxInlineBytes, silentLogger(), (s, i) => {
      scheduler = s;
      insight = i;
      if (side?.metrics) schedulerMetrics(side.metrics, i);
    }),
    { metrics: side?.metrics, health: side?.health },
  );
  const address = `127.0.0.1:${frontend.port}`;
  const clients = createClients(address);
  const Exec = makeGenericClientConstructor(ExecutionService, 'Execution');
  const exec = new Exec(address, credentials.createInsecure()) as unknown as Record<string, Function> & { close(): void };
  const Ops = makeGenericClientConstructor(OperationsService, 'Operations');
  const ops = new Ops(address, credentials.createInsecure()) as unknown as Record<string, Function> & { close(): void };
  const workers: ChildProcess[] = [];
  let n = 0;

  const upload = async (...blobs: (Buffer | string)[]) => {
    const requests = blobs.map((b) => ({ digest: digestOf(b, fn), data: Buffer.from(b) }));
    const res = await clients.cas.batchUpdateBlobs({ requests, digestFunction: fn === SHA256 ? 0 : fn.id });
    for (const r of res.responses) if (r.status?.code) throw new Error(`upload failed: ${r.status.message}`);
    return requests.map((r) => r.digest);
  };

  return {
    address,
    dataDir,
    clients,
    scheduler,
    insight,
    execute: (req, metadata = new Metadata()) => exec.execute(re.ExecuteRequest.create(req as REv2.ExecuteRequest), metadata),
    waitExecution: (name) => exec.waitExecution(re.WaitExecutionRequest.create({ name })),
    cancelOperation: (name) => new Promise<void>((resolve, reject) => ops.cancelOperation(longrunning.CancelOperationRequest.create({ name }), (err: Error | null) => (err ? reject(err) : resolve()))),
    upload,
    action: async (o) => {
      const dirs = (o.directories ?? []).map((d) => encode(re.Directory, re.Directory.create(d as REv2.Directory)));
      const root = encode(re.Directory, re.Directory.create((o.inputRoot ?? {}) as REv2.Directory));
      const command = encode(
        re.Command,
        re.Command.create({
          arguments: o.args,
          environmentVariables: Object.entries(o.env ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, value]) => ({ name, value })),
          outputPaths: o.outputPaths ?? [],
          outputFiles: o.outputFiles ?? [],
          outputDirectories: o.outputDirectories ?? [],
          workingDirectory: o.workingDirectory ?? '',
          outputNodeProperties: o.outputNodeProperties ?? [],
        }),
      );
      const action = encode(
        re.Action,
        re.Action.create({
          commandDigest: digestOf(command, fn),
          inputRootDigest: digestOf(root, fn),
          timeout: o.timeoutSeconds ? { seconds: Long.fromNumber(o.timeoutSeconds) } : undefined,
          doNotCache: o.doNotCache ?? false,
          platform: o.platform ? { properties: o.platform } : undefined,
          salt: Buffer.from(o.salt ?? ''),
        }),
      );
      await upload(command, root, action, ...dirs);
      return digestOf(action, fn);
    },
    startWorker: (args = []) => {
      const dir = path.join(dataDir, 'workers', String(n++));
      const child = fork(path.join(__dirname, '../../src/cmd/worker.js'), ['--scheduler', address, '--name', `test-${n}`, '--work-dir', path.join(dir, 'work'), '--cache-dir', path.join(dir, 'cache'), ...SANDBOX, ...args], {
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        env: { ...process.env, LOG_LEVEL: 'warn', LOG_PRETTY: '0' },
      });
      workers.push(child);
      return child;
    },
    close: async () => {
      for (const w of workers) w.kill('SIGKILL');
      exec.close();
      ops.close();
      clients.close();
      scheduler.close();
      await frontend.close();
      await fsp.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Collects every Operation of a stream. */
export async function operations(stream: ClientReadableStream<LongrunningPb.Operation>): Promise<LongrunningPb.Operation[]> {
  const out: LongrunningPb.Operation[] = [];
  for await (const op of stream) out.push(op as LongrunningPb.Operation);
  return out;
}

export function stageOf(op: LongrunningPb.Operation): string {
  const md = re.ExecuteOperationMetadata.decode(op.metadata!.value!);
  return re.ExecutionStage.Value[md.stage];
}

export function responseOf(op: LongrunningPb.Operation): REv2.ExecuteResponse {
  if (!op.done || !op.response) throw new Error(`operation ${op.name} is not done`);
  return re.ExecuteResponse.decode(op.response.value!);
}

/** Waits until the scheduler has `count` workers registered. */
export async function waitForWorkers(f: ExecutionFixture, count: number, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (f.scheduler.workerNames.length < count) {
    if (Date.now() > until) throw new Error(`only ${f.scheduler.workerNames.length} of ${count} workers registered`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
