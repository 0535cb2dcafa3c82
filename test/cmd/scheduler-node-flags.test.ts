import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { SCHEDULER_NODE_FLAGS } from '../../src/cmd/scheduler-node-flags';

const ROOT = path.join(__dirname, '..', '..', '..');

describe('the scheduler process runs with the V8 flags the scale bench measures', () => {
  it('npm start passes them to node before the script', () => {
    const start: string = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.start;
    assert.ok(start.includes(`node ${SCHEDULER_NODE_FLAGS.join(' ')} dist/src/cmd/all-in-one.js`), start);
  });

  it('every flag is one V8 accepts (node rejects an unknown flag before running anything)', () => {
    assert.equal(execFileSync(process.execPath, [...SCHEDULER_NODE_FLAGS, '-p', '1'], { encoding: 'utf8' }).trim(), '1');
  });
});
