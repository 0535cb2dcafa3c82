import { Client, ClientDuplexStream, ClientReadableStream, ClientWritableStream, credentials, makeGenericClientConstructor, MethodDefinition, ServiceError, status as Code } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import Long from 'long';
import { Digest } from '../../src/digest/digest';
import { SHA256 } from '../../src/digest/digest-function';
import * as defs from '../../src/grpc/service-definitions';
import { encode, re, REv2, worker } from '../../src/proto';
import { Clients } from '../helpers/clients';
import { mutate, Rng } from './wire-mutator';

type AnyMethod = MethodDefinition<unknown, unknown>;

/** One RPC method of the server: its wire path, shape, the server's own decoder, and valid requests to start from. */
export interface FuzzTarget {
  name: string;
  method: AnyMethod;
  /** Valid calls: one message for unary and server streaming, a sequence for client streaming and bidi. */
  seeds: Buffer[][];
}

export interface FuzzOutcome {
  target: string;
  code: Code;
  /** Some message of the call did not decode with the server's own codec (the only excuse for INTERNAL). */
  undecodable: boolean;
  /** The call ended without a status from the server within the deadline. */
  hung: boolean;
  details: string;
}

/** Calls the server's paths with raw bytes: the fuzzer controls every byte of every message. */
export function rawClient(address: string, targets: FuzzTarget[]): Client & Record<string, Function> {
  const service: Record<string, MethodDefinition<Buffer, Buffer>> = {};
  for (const t of targets) {
    service[t.name] = { ...t.method, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
  }
  const Ctor = makeGenericClientConstructor(service, 'Fuzz');
  return new Ctor(address, credentials.createInsecure(), { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 }) as unknown as Client & Record<string, Function>;
}

/** Valid state on the server that seeds point at: blobs, a Directory tree, an Action with an AC entry. */
export async function seedServer(clients: Clients): Promise<FuzzTarget[]> {
  const blob = (data: Buffer | string) => ({ data: Buffer.from(data), digest: Digest.compute(Buffer.from(data), SHA256).toProto() });
  const file = blob('fuzz input file\n');
  const big = blob(Buffer.alloc(70_000, 7));
  const sub = blob(encode(re.Directory, re.Directory.create({ files: [{ name: 'f.txt', digest: file.digest }] })));
  const root = blob(encode(re.Directory, re.Directory.create({ directories: [{ name: 'sub', digest: sub.digest }], files: [{ name: 'top', digest: file.digest, isExecutable: true }] })));
  const command = blob(encode(re.Command, re.Command.create({ arguments: ['/bin/sh', '-c', 'cat sub/f.txt > out.txt'], outputPaths: ['out.txt'] })));
  const action = blob(encode(re.Action, re.Action.create({ commandDigest: command.digest, inputRootDigest: root.digest })));
  const stored = [file, big, sub, root, command, action];
  await clients.cas.batchUpdateBlobs({ requests: stored.map(({ data, digest }) => ({ digest, data })) });
  const result = re.ActionResult.create({ outputFiles: [{ path: 'out.txt', digest: file.digest }], exitCode: 0, stdoutDigest: Digest.empty(SHA256).toProto() });
  const actionOnly = blob(encode(re.Action, re.Action.create({ commandDigest: command.digest, inputRootDigest: root.digest, doNotCache: false, salt: Buffer.from('ac') })));
  await clients.cas.batchUpdateBlobs({ requests: [{ digest: actionOnly.digest, data: actionOnly.data }] });
  await clients.ac.updateActionResult({ actionDigest: actionOnly.digest, actionResult: result });

  const one = <T>(type: { encode(m: T): { finish(): Uint8Array }; create(p: object): T }, ...msgs: object[]) => msgs.map((m) => [encode(type, type.create(m))]);
  const name = (d: REv2.IDigest) => `${d.hash}/${Long.fromValue(d.sizeBytes!).toString()}`;
  const fresh = blob(`fresh ${randomUUID()}`);
  const uploadName = `uploads/${randomUUID()}/blobs/${name(fresh.digest)}`;
  const half = Math.floor(fresh.data.length / 2);
  const enc = (m: object) => defs.ByteStreamService.write.requestSerialize(m as never);
  const wenc = (m: object) => defs.WorkerServiceDefinition.connect.requestSerialize(worker.WorkerMessage.create(m) as never);

  const targets: [string, AnyMethod, Buffer[][]][] = [
    ['GetCapabilities', defs.CapabilitiesService.getCapabilities as AnyMethod, one(re.GetCapabilitiesRequest, {}, { instanceName: 'x' })],
    ['FindMissingBlobs', defs.ContentAddressableStorageService.findMissingBlobs as AnyMethod, one(re.FindMissingBlobsRequest, { blobDigests: stored.map((b) => b.digest) }, { blobDigests: [fresh.digest], digestFunction: re.DigestFunction.Value.SHA256 })],
    ['BatchUpdateBlobs', defs.ContentAddressableStorageService.batchUpdateBlobs as AnyMethod, one(re.BatchUpdateBlobsRequest, { requests: [{ digest: file.digest, data: file.data }, { digest: fresh.digest, data: fresh.data }] })],
    ['BatchReadBlobs', defs.ContentAddressableStorageService.batchReadBlobs as AnyMethod, one(re.BatchReadBlobsRequest, { digests: [file.digest, root.digest, big.digest] })],
    ['GetTree', defs.ContentAddressableStorageService.getTree as AnyMethod, one(re.GetTreeRequest, { rootDigest: root.digest }, { rootDigest: root.digest, pageSize: 1 }, { rootDigest: root.digest, pageToken: 'x' })],
    ['GetActionResult', defs.ActionCacheService.getActionResult as AnyMethod, one(re.GetActionResultRequest, { actionDigest: actionOnly.digest, inlineStdout: true, inlineOutputFiles: ['out.txt'] })],
    ['UpdateActionResult', defs.ActionCacheService.updateActionResult as AnyMethod, one(re.UpdateActionResultRequest, { actionDigest: actionOnly.digest, actionResult: result })],
    ['Execute', defs.ExecutionService.execute as AnyMethod, one(re.ExecuteRequest, { actionDigest: action.digest }, { actionDigest: action.digest, skipCacheLookup: true, executionPolicy: { priority: 5 } }, { actionDigest: actionOnly.digest })],
    ['WaitExecution', defs.ExecutionService.waitExecution as AnyMethod, one(re.WaitExecutionRequest, { name: 'operations/00000000-0000-4000-8000-000000000000' }, { name: `operations/cached-${action.digest.hash}` })],
    ['Read', defs.ByteStreamService.read as AnyMethod, [[enc({ resourceName: `blobs/${name(big.digest)}`, readOffset: Long.fromNumber(5), readLimit: Long.fromNumber(0) })], [enc({ resourceName: `blobs/${name(file.digest)}` })]].map((m) => m.map((x) => x as Buffer))],
    ['Write', defs.ByteStreamService.write as AnyMethod, [
      [enc({ resourceName: uploadName, writeOffset: Long.fromNumber(0), data: fresh.data.subarray(0, half) }), enc({ writeOffset: Long.fromNumber(half), data: fresh.data.subarray(half), finishWrite: true })],
      [enc({ resourceName: `uploads/${randomUUID()}/blobs/${name(file.digest)}`, writeOffset: Long.fromNumber(0), data: file.data, finishWrite: true })],
    ]],
    ['QueryWriteStatus', defs.ByteStreamService.queryWriteStatus as AnyMethod, [[defs.ByteStreamService.queryWriteStatus.requestSerialize({ resourceName: uploadName } as never)]]],
    ['WorkerConnect', defs.WorkerServiceDefinition.connect as AnyMethod, [
      [wenc({ register: { workerName: 'fuzz', slots: 1, properties: [{ name: 'OSFamily', value: 'Fuzz' }] } }), wenc({ heartbeat: {} }), wenc({ started: { executionId: 'nope' } })],
      [wenc({ register: { workerName: 'fuzz2', slots: 2 } }), wenc({ finished: { executionId: 'nope', status: { code: 0 }, result: result } }), wenc({ rmetaReady: { executionId: 'nope', result } })],
      [wenc({ heartbeat: {} })],
    ]],
  ];
  return targets.map(([n, method, seeds]) => ({ name: n, method, seeds }));
}

/** Decodes like the server does; false when the server's deserializer would throw. */
function decodes(method: AnyMethod, b: Buffer): boolean {
  try {
    method.requestDeserialize(b);
    return true;
  } catch {
    return false;
  }
}

/** Random bytes, a mutated seed, or a seed as is. */
function message(rng: Rng, seed: Buffer, corpus: Buffer[]): Buffer {
  const r = rng.next();
  if (r < 0.1) return rng.bytes(rng.length());
  if (r < 0.9) return mutate(rng, seed, corpus);
  return seed;
}

/** Makes and sends one fuzzed call; resolves with how the server answered. */
export function fuzzCall(client: Record<string, Function>, target: FuzzTarget, rng: Rng, corpus: Buffer[], deadlineMs: number): Promise<FuzzOutcome> {
  const seed = rng.pick(target.seeds);
  const msgs = target.method.requestStream
    ? seed.slice(0, 1 + rng.int(seed.length + 1)).map((s) => message(rng, s, corpus)).concat(rng.chance(0.2) ? [rng.bytes(rng.length())] : [])
    : [message(rng, seed[0], corpus)];
  // Now and then a message larger than the server's limit (about 5 MiB).
  if (rng.chance(0.0005)) msgs[0] = rng.bytes(6 * 1024 * 1024);
  const undecodable = msgs.some((m) => !decodes(target.method, m));
  const deadline = Date.now() + deadlineMs;
  const { requestStream, responseStream } = target.method;
  const cancelEarly = requestStream && rng.chance(0.15);

  return new Promise<FuzzOutcome>((resolve) => {
    let settled = false;
    const finish = (code: Code, details: string) => {
      if (settled) return;
      settled = true;
      resolve({ target: target.name, code, undecodable, hung: code === Code.DEADLINE_EXCEEDED, details });
    };
    const onError = (err: ServiceError) => finish(err.code, err.details);
    if (!requestStream && !responseStream) {
      client[target.name](msgs[0], { deadline }, (err: ServiceError | null) => (err ? onError(err) : finish(Code.OK, '')));
      return;
    }
    let call: ClientReadableStream<Buffer> | ClientWritableStream<Buffer> | ClientDuplexStream<Buffer, Buffer>;
    if (!requestStream) call = client[target.name](msgs[0], { deadline });
    else if (!responseStream) call = client[target.name]({ deadline }, (err: ServiceError | null) => (err ? onError(err) : finish(Code.OK, '')));
    else call = client[target.name]({ deadline });
    if (responseStream) {
      // Server streams that stay open (Execute, WaitExecution, the worker protocol) count as answered at their first message.
      (call as ClientReadableStream<Buffer>).on('data', () => {
        if (target.name === 'Read' || target.name === 'GetTree') return;
        finish(Code.OK, 'first message');
        (call as ClientReadableStream<Buffer>).cancel();
      });
      call.on('status', (s: { code: Code; details: string }) => finish(s.code, s.details));
      call.on('error', onError);
    }
    if (requestStream) {
      const w = call as ClientWritableStream<Buffer>;
      w.on('error', onError);
      for (const m of msgs) w.write(m);
      if (cancelEarly) {
        setTimeout(() => {
          w.cancel();
          finish(Code.CANCELLED, 'cancelled by the fuzzer');
        }, rng.int(5));
      } else w.end();
    }
  });
}

export interface FuzzReport {
  requests: number;
  byCode: Record<string, number>;
  byTarget: Record<string, number>;
  /** Summed call latency per method. */
  msByTarget: Record<string, number>;
  /** Calls that broke a rule: INTERNAL for decodable bytes, UNKNOWN, DATA_LOSS, UNAVAILABLE, or no answer. */
  violations: FuzzOutcome[];
  undecodable: number;
  ms: number;
}

const FORBIDDEN = new Set([Code.UNKNOWN, Code.DATA_LOSS, Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED]);

/** Sends `requests` fuzzed calls, `concurrency` at a time, spread over every target. */
export async function runFuzz(client: Record<string, Function>, targets: FuzzTarget[], o: { requests: number; concurrency: number; seed: number; deadlineMs: number }): Promise<FuzzReport> {
  const rng = new Rng(o.seed);
  const corpus = targets.flatMap((t) => t.seeds.flat());
  const report: FuzzReport = { requests: 0, byCode: {}, byTarget: {}, msByTarget: {}, violations: [], undecodable: 0, ms: 0 };
  const start = Date.now();
  let next = 0;
  const lane = async () => {
    while (next < o.requests) {
      next++;
      const target = targets[next % targets.length];
      const t0 = Date.now();
      const out = await fuzzCall(client, target, rng, corpus, o.deadlineMs);
      report.msByTarget[target.name] = (report.msByTarget[target.name] ?? 0) + Date.now() - t0;
      report.requests++;
      report.byCode[Code[out.code]] = (report.byCode[Code[out.code]] ?? 0) + 1;
      report.byTarget[target.name] = (report.byTarget[target.name] ?? 0) + 1;
      if (out.undecodable) report.undecodable++;
      if (FORBIDDEN.has(out.code) || (out.code === Code.INTERNAL && !out.undecodable)) report.violations.push(out);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, lane));
  report.ms = Date.now() - start;
  return report;
}
