import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Long from 'long';
import pino from 'pino';
import { Frontend, startFrontend } from '../../src/cmd/frontend';
import { defaultConfig } from '../../src/config/server-config';
import { randomBlob, writeName } from '../helpers/blobs';
import { Clients, Code, createClients, expectStatus } from '../helpers/clients';

/** A frontend whose log lines (debug and up) the test can read. */
describe('a client stream that ends badly', () => {
  let dir: string;
  let frontend: Frontend;
  let clients: Clients;
  const lines: { level: number; msg: string; code?: string; method?: string }[] = [];

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-gone-'));
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
        cb();
      },
    });
    frontend = await startFrontend({ ...defaultConfig(dir), listen: '127.0.0.1:0' }, pino({ level: 'debug' }, sink));
    clients = createClients(`127.0.0.1:${frontend.port}`);
  });
  after(async () => {
    clients.close();
    await frontend.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const writeLines = () => lines.filter((l) => l.method === 'Write');

  it('is logged at debug as CANCELLED when the client cancels in the middle of the data ("Premature close" before)', async () => {
    const blob = randomBlob(8 * 1024 * 1024);
    const name = writeName(blob);
    const w = clients.byteStream.openWrite();
    for (let off = 0; off < blob.size; off += 64 * 1024) w.send({ resourceName: name, writeOffset: Long.fromNumber(off), data: blob.data.subarray(off, off + 64 * 1024) });
    // Cancel once the server is busy with the data, so its iteration is cut off mid-stream.
    for (let i = 0; i < 400; i++) {
      const s = await clients.byteStream.queryWriteStatus({ resourceName: name }).catch(() => undefined);
      if (s && Long.fromValue(s.committedSize).toNumber() > 0) break;
      await sleep(5);
    }
    w.stream.cancel();
    await expectStatus(w.response, Code.CANCELLED);
    for (let i = 0; i < 200 && writeLines().length === 0; i++) await sleep(10);
    const logged = writeLines();
    assert.ok(logged.length >= 1, 'the cancelled Write is logged');
    for (const l of logged) {
      assert.equal(l.code, 'CANCELLED', JSON.stringify(l));
      assert.equal(l.level, 20, 'at debug level');
    }
    assert.deepEqual(lines.filter((l) => l.level >= 50), [], 'no error-level line');
  });
});
