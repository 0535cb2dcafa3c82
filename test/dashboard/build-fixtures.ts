import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ActionRecord, BuildRecord } from '../../src/dashboard/build-record';

/**
 * A clean, pipelined build of rules_rust_example/offline through `npm start` (2 workers, fusion on, warm worker
 * caches), as GET /api/builds/<id>/record returned it: 14 library crates (each one fused run answering its metadata and
 * rlib actions), the process wrapper and two binaries.
 */
export function recordedBuild(): BuildRecord {
  return JSON.parse(readFileSync(path.join(__dirname, '../../../test/dashboard/fixtures/rust-example-build.json'), 'utf8')) as BuildRecord;
}

/** A crate's fused rustc run with the given times (epoch ms), for hand-made graphs. */
export function fusedRun(id: string, t: { queued: number; start: number; rmeta?: number; end: number }, deps: ActionRecord['deps'] = []): ActionRecord {
  return {
    id,
    actionDigest: '',
    kind: 'rustc-rlib',
    crate: id,
    crateName: id,
    deps,
    fusion: 'carrier',
    argv: ['rustc'],
    outputs: [],
    platform: [],
    timings: { queuedMs: t.queued, executionStartMs: t.start, rmetaMs: t.rmeta, executionEndMs: t.end, completedMs: t.end },
  };
}
