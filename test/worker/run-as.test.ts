import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseRunAs } from '../../src/worker/run-as';
import { tempDir } from './worker-fixture';

describe('parseRunAs', () => {
  const dir = tempDir();
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  it('takes UID:GID, a bare UID, or a user name from the passwd file', async () => {
    const passwd = path.join(dir, 'passwd');
    await fsp.writeFile(passwd, 'root:x:0:0:root:/root:/bin/bash\nbuilder:x:1500:1600::/home/builder:/bin/sh\n');
    assert.deepEqual(parseRunAs('1000:1001', passwd, 0), { uid: 1000, gid: 1001 });
    assert.deepEqual(parseRunAs('1000', passwd, 0), { uid: 1000, gid: 1000 });
    assert.deepEqual(parseRunAs('builder', passwd, 0), { uid: 1500, gid: 1600 });
    assert.throws(() => parseRunAs('nobody-here', passwd, 0), /no user "nobody-here"/);
  });

  it('refuses to start when the worker is not root', () => {
    assert.throws(() => parseRunAs('1000:1000', '/etc/passwd', 1000), /needs the worker to run as root \(it runs as uid 1000\)/);
  });
});
