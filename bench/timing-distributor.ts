// A ThinLTO distributor for the DTLTO bench: runs lld's jobs one after another on this machine, each under
// /usr/bin/time, and writes each job's CPU seconds (user + system: what the compile costs a dedicated core,
// whatever the machine's load) to $DTLTO_TIMES as JSON, in the jobs file's order.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseJobsFile } from '../src/dtlto/jobs-file';

const file = process.argv[process.argv.length - 1];
const { common, jobs } = parseJobsFile(readFileSync(file, 'utf8'), file);
const cpuMs: number[] = [];
for (const job of jobs) {
  const argv = [...common.args, ...job.args];
  const r = spawnSync('/usr/bin/time', ['-f', 'RUSTEXEC-TIME %U %S', ...argv], { encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    process.exit(r.status ?? 1);
  }
  const m = /RUSTEXEC-TIME ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (!m) throw new Error(`no timing from /usr/bin/time for ${job.inputs[0]}`);
  cpuMs.push((Number(m[1]) + Number(m[2])) * 1000);
}
if (process.env.DTLTO_TIMES) writeFileSync(process.env.DTLTO_TIMES, JSON.stringify(cpuMs));
