import * as assert from 'node:assert/strict';
import { credentials, makeGenericClientConstructor, ServiceError } from '@grpc/grpc-js';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExecutionService } from '../../src/grpc/service-definitions';
import { longrunning, LongrunningPb, re } from '../../src/proto';
import { startServerProcess, ServerProcess } from '../e2e/server-process';
import { randomBlob } from '../helpers/blobs';
import { Clients, createClients } from '../helpers/clients';
import { FuzzTarget, rawClient, runFuzz, seedServer } from './rpc-fuzzer';

/** FUZZ_REQUESTS / FUZZ_SEED make a longer or a replayed run (`FUZZ_REQUESTS=200000 node --test dist/test/fuzz/`). */
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 20_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

describe('RPC fuzzing: mutated and random protobuf bytes to every method of the all-in-one server', () => {
  let dir: string;
  let server: ServerProcess;
  let clients: Clients;
  let targets: FuzzTarget[];

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-fuzz-'));
    server = await startServerProcess({ args: ['--data', path.join(dir, 'data'), '--workers', '1'] });
    clients = createClients(server.address);
    targets = await seedServer(clients);
  });
  after(async () => {
    clients?.close();
    await server?.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it(`answers ${REQUESTS} fuzzed calls, 16 in flight, without a crash, a hang, INTERNAL for decodable bytes or an error log line`, async (t) => {
    const client = rawClient(server.address, targets);
    const report = await runFuzz(client, targets, { requests: REQUESTS, concurrency: 16, seed: SEED, deadlineMs: 30_000 });
    client.close();
    const errorLines = server.logRecords().filter((r) => Number(r.level) >= 50);
    const warnLines = server.logRecords().filter((r) => Number(r.level) === 40);
    t.diagnostic(`seed ${SEED}: ${report.requests} calls in ${report.ms} ms (${Math.round((report.requests * 1000) / report.ms)}/s) over ${targets.length} methods; undecodable ${report.undecodable}`);
    t.diagnostic(`ms per method: ${JSON.stringify(report.msByTarget)}`);
    t.diagnostic(`status codes: ${JSON.stringify(report.byCode)}`);
    t.diagnostic(`server log lines: ${errorLines.length} error, ${warnLines.length} warn ${JSON.stringify([...new Set(warnLines.map((r) => r.msg))].slice(0, 5))}`);

    assert.equal(server.child.exitCode, null, `the server died:\n${server.logs().slice(-3000)}`);
    assert.equal(report.requests, REQUESTS);
    assert.ok(Object.keys(report.byTarget).length === targets.length && targets.length >= 13, 'every method was called');
    assert.deepEqual(report.violations.slice(0, 10), [], `calls answered INTERNAL for decodable bytes, UNKNOWN, UNAVAILABLE or not at all (${report.violations.length}) — replay with FUZZ_SEED=${SEED}`);
    assert.deepEqual(errorLines.slice(0, 5), [], 'no error-level log line for a client mistake');
    assert.ok((report.byCode.INVALID_ARGUMENT ?? 0) > REQUESTS / 10 && (report.byCode.OK ?? 0) > REQUESTS / 20, 'the mix reaches both the validators and the handlers');
  });

  it('still serves uploads, reads and executions after the fuzzing', async () => {
    const blob = randomBlob(70_000);
    await clients.cas.batchUpdateBlobs({ requests: [{ digest: blob.digest, data: blob.data }] });
    assert.ok((await clients.byteStream.read(`blobs/${blob.hash}/${blob.size}`)).equals(blob.data));
    const Exec = makeGenericClientConstructor(ExecutionService, 'Execution');
    const exec = new Exec(server.address, credentials.createInsecure()) as unknown as Record<string, Function> & { close(): void };
    const action = targets.find((x) => x.name === 'Execute')!.seeds[1][0];
    const ops: LongrunningPb.Operation[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = exec.execute(re.ExecuteRequest.decode(action), { deadline: Date.now() + 60_000 });
      call.on('data', (op: LongrunningPb.Operation) => ops.push(op));
      call.on('end', resolve);
      call.on('error', (e: ServiceError) => reject(e));
    });
    exec.close();
    const last = longrunning.Operation.create(ops.at(-1));
    assert.equal(last.done, true);
    const response = re.ExecuteResponse.decode(last.response!.value!);
    assert.equal(response.status?.code ?? 0, 0, response.status?.message ?? '');
    assert.equal(response.result?.exitCode, 0);
  });
});
