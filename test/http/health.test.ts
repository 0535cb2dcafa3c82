import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Health } from '../../src/http/health';

describe('Health', () => {
  it('is ready only when every check passes, and names the failing ones', async () => {
    let t = 0;
    let storageUp = false;
    const health = new Health({ cacheMs: 1000, now: () => t });
    health.addCheck('storage', async () => {
      if (!storageUp) throw new Error('S3 answered 503');
    });
    health.addCheck('scheduler', async () => undefined);
    assert.deepEqual(await health.readiness(), { ready: false, checks: { storage: 'S3 answered 503', scheduler: 'ok' } });
    storageUp = true;
    assert.equal((await health.readiness()).ready, false, 'a result is reused within cacheMs');
    t += 1000;
    assert.deepEqual(await health.readiness(), { ready: true, checks: { storage: 'ok', scheduler: 'ok' } });
  });

  it('counts a check that does not answer in time as failed', async () => {
    const health = new Health({ timeoutMs: 20 });
    health.addCheck('stuck', () => new Promise<void>(() => undefined));
    assert.deepEqual(await health.readiness(), { ready: false, checks: { stuck: 'no answer within 20 ms' } });
  });
});
