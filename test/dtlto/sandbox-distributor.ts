// A ThinLTO distributor for tests (run by test/fixtures/dtlto/sandbox-distributor.sh): each job becomes its
// canonical backend action (backendAction), runs in an empty directory holding only the action's inputs, and its
// outputs are copied to lld's paths. It appends one line per job to $SANDBOX_RECORD: the action's identity, so a
// test can tell whether two links produced the same actions (what makes a remote cache hit).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Digest } from '../../src/digest/digest';
import { SHA256 } from '../../src/digest/digest-function';
import { backendAction } from '../../src/dtlto/backend-action';
import { parseJobsFile } from '../../src/dtlto/jobs-file';
import { probeClangMajor } from '../../src/util/clang-version';

async function main(): Promise<void> {
  const file = process.argv[process.argv.length - 1];
  const { common, jobs } = parseJobsFile(readFileSync(file, 'utf8'), file);
  const major = await probeClangMajor(common.args[0]);
  const ctx = {
    compiler: { command: `clang-${major}`, major },
    fn: SHA256,
    cwd: process.cwd(),
    digestFile: async (f: string) => Digest.compute(readFileSync(f), SHA256),
    readFile: async (f: string) => readFileSync(f),
  };
  for (const job of jobs) {
    const action = await backendAction(common, job, ctx);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dtlto-sandbox-'));
    try {
      for (const i of action.inputs) {
        if ('file' in i.source) copyFileSync(i.source.file, path.join(dir, i.name));
        else writeFileSync(path.join(dir, i.name), i.source.data);
      }
      execFileSync(action.argv[0], action.argv.slice(1), { cwd: dir, stdio: 'inherit' });
      for (const o of action.outputs) copyFileSync(path.join(dir, o.name), o.local);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const identity = JSON.stringify({ argv: action.argv, inputs: action.inputs.map((i) => [i.name, i.digest.key]), outputs: action.outputs.map((o) => o.name), platform: action.platform });
    if (process.env.SANDBOX_RECORD) appendFileSync(process.env.SANDBOX_RECORD, `${JSON.stringify({ module: job.inputs[0], key: createHash('sha256').update(identity).digest('hex') })}\n`);
  }
}

main().catch((err) => {
  console.error(`sandbox distributor: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
