import { readFileSync } from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function and per module of a `node --cpu-prof` profile, busy time only (idle excluded). */
export function summarise(profile: CpuProfile): { busyMs: number; byFunction: [string, number][]; byModule: [string, number][] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const fn = new Map<string, number>();
  const mod = new Map<string, number>();
  let busy = 0;
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    busy += ms;
    const file = url ? url.replace(/^file:\/\//, '').replace(/.*node_modules\//, '').replace(/.*\/dist\//, '') : '';
    const name = `${functionName || '(anonymous)'} ${file ? `${path.basename(file)}:${lineNumber + 1}` : ''}`;
    fn.set(name, (fn.get(name) ?? 0) + ms);
    const m = !url ? functionName : url.startsWith('node:') ? url : file.split('/').slice(0, file.startsWith('@') ? 2 : 1).join('/');
    mod.set(m, (mod.get(m) ?? 0) + ms);
  }
  const top = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { busyMs: busy, byFunction: top(fn), byModule: top(mod) };
}

/** `node dist/bench/profile-summary.js FILE.cpuprofile [N]`: prints where the busy time went. */
if (require.main === module) {
  const [file, n = '25'] = process.argv.slice(2);
  const s = summarise(JSON.parse(readFileSync(file, 'utf8')));
  const pct = (ms: number) => `${((100 * ms) / s.busyMs).toFixed(1).padStart(5)}%`;
  console.log(`busy ${s.busyMs.toFixed(0)} ms`);
  console.log('-- by module');
  for (const [k, ms] of s.byModule.slice(0, 15)) console.log(`${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${k}`);
  console.log('-- by function (self)');
  for (const [k, ms] of s.byFunction.slice(0, Number(n))) console.log(`${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${k}`);
}
