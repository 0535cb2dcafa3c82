import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { S3ActionCache } from '../../../src/actioncache/s3-action-cache';
import { re } from '../../../src/proto';
import { Code } from '../../../src/grpc/status-error';
import { blob, tempDir } from '../blob-store-fixtures';
import { BUCKET, S3rverFixture } from './s3rver-fixture';

describe('S3ActionCache', () => {
  let s3rver: S3rverFixture;
  let dir: string;
  before(async () => {
    dir = await tempDir('s3rver-ac');
    s3rver = new S3rverFixture(dir);
    await s3rver.start();
  });
  after(async () => {
    await s3rver.kill();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('stores an ActionResult at {prefix}ac/{hash}-{size} and reads it back; an unknown action is a miss', async () => {
    const ac = new S3ActionCache(s3rver.location('ac-test/'));
    const action = blob('an action').digest;
    const out = blob('output');
    assert.equal(await ac.get(action), undefined);
    const result = re.ActionResult.create({ exitCode: 3, outputFiles: [{ path: 'out/a', digest: out.digest.toProto(), isExecutable: true }], stdoutRaw: Buffer.from('hi') });
    await ac.put(action, result);
    const got = await ac.get(action);
    assert.equal(got?.exitCode, 3);
    assert.equal(got?.outputFiles[0].path, 'out/a');
    assert.equal(got?.outputFiles[0].digest?.hash, out.digest.hash);
    assert.deepEqual(Buffer.from(got!.stdoutRaw), Buffer.from('hi'));
    const stat = await s3rver.location().client.statObject(BUCKET, `ac-test/ac/${action.key}`);
    assert.ok(stat.size > 0);
  });

  it('replaces an entry (last writer wins) and treats an undecodable entry as a miss', async () => {
    const s3 = s3rver.location('ac-replace/');
    const ac = new S3ActionCache(s3);
    const action = blob('another action').digest;
    await ac.put(action, re.ActionResult.create({ exitCode: 1 }));
    await ac.put(action, re.ActionResult.create({ exitCode: 2 }));
    assert.equal((await ac.get(action))?.exitCode, 2);
    await s3.client.putObject(BUCKET, `ac-replace/ac/${action.key}`, Buffer.from([0xff, 0xff, 0xff]));
    assert.equal(await ac.get(action), undefined);
  });

  it('fails with UNAVAILABLE, naming the key, when S3 cannot be reached', async () => {
    const ac = new S3ActionCache({ ...s3rver.location(), client: new S3rverFixture(dir).location().client }); // port 0: refused
    const action = blob('unreachable').digest;
    await assert.rejects(ac.get(action), (err: { code: Code; message: string }) => {
      assert.equal(err.code, Code.UNAVAILABLE);
      assert.match(err.message, new RegExp(`ac/${action.key}`));
      return true;
    });
    await assert.rejects(ac.put(action, re.ActionResult.create({})), { code: Code.UNAVAILABLE });
  });
});
