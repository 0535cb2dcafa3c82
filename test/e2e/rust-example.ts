import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { BazelWorkspace, makeWorkspace, SpawnExec } from './bazel-harness';

const run = promisify(execFile);

/** The repository root (compiled tests live in dist/test/e2e); RUSTEXEC_REPO overrides it. */
export const REPO = process.env.RUSTEXEC_REPO ?? path.resolve(__dirname, '../../..');
export const RUST_EXAMPLE = path.join(REPO, 'rules_rust_example/offline');
export const RUST_BINARIES = ['wordfreq', 'logscan'];

/** A private copy of the offline rules_rust example, set up for this machine's rustc (setup.sh runs with the real HOME). */
export async function makeRustExampleWorkspace(): Promise<BazelWorkspace> {
  const ws = await makeWorkspace({});
  await fsp.cp(RUST_EXAMPLE, ws.dir, {
    recursive: true,
    filter: (src) => !/\/(\.rust_sysroot\.bazelrc|user\.bazelrc|bazel-[^/]*)$/.test(src),
  });
  await run(path.join(ws.dir, 'setup.sh'), [], { env: process.env });
  return ws;
}

/** Output path → digest of every output of every spawn in an execution log. */
export function outputDigests(spawns: SpawnExec[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const s of spawns) for (const o of s.actualOutputs ?? []) if (o.digest) m.set(o.path, `${o.digest.hash}/${o.digest.sizeBytes}`);
  return m;
}

/** Runs each example binary from bazel-bin and compares its stdout with expected_output/<name>.txt. */
export async function binaryOutputs(bin: string): Promise<{ name: string; actual: string; expected: string }[]> {
  return Promise.all(
    RUST_BINARIES.map(async (name) => ({
      name,
      actual: (await run(path.join(bin, 'bin', name, name), [], { cwd: path.join(bin, 'bin', name) })).stdout,
      expected: await fsp.readFile(path.join(RUST_EXAMPLE, 'expected_output', `${name}.txt`), 'utf8'),
    })),
  );
}
