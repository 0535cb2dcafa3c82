import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeAtomically } from '../client/remote-client';
import { RustcInvocation } from './rustc-invocation';

/** A crate a compile depends on, directly or not: its output path without extension, and whether it is a proc-macro. */
export interface DepCrate {
  stem: string;
  procMacro: boolean;
}

/**
 * rustc finds a crate's indirect dependencies by scanning `-L dependency=` directories, so the exact set it needs is
 * the transitive closure of its `--extern`s. Cargo does not say what that is; the wrapper records it for every crate it
 * compiles, next to the outputs (`<out-dir>/.rustexec/<lib…>.deps`), and reads its direct dependencies' records.
 */
export async function dependencyClosure(inv: RustcInvocation): Promise<{ deps: DepCrate[]; complete: boolean }> {
  const byStem = new Map<string, DepCrate>();
  let complete = true;
  for (const e of inv.externs) {
    const ext = path.extname(e.path);
    if (!['.rlib', '.rmeta', '.so'].includes(ext)) continue;
    const stem = e.path.slice(0, -ext.length);
    byStem.set(stem, { stem, procMacro: ext === '.so' });
    const text = await fsp.readFile(recordPath(stem), 'utf8').catch(() => undefined);
    if (text === undefined) {
      complete = false;
      continue;
    }
    for (const d of JSON.parse(text) as DepCrate[]) byStem.set(d.stem, d);
  }
  return { deps: [...byStem.values()].sort((a, b) => (a.stem < b.stem ? -1 : 1)), complete };
}

/** Writes the record of a library or proc-macro crate (its closure), so its dependents can find theirs. */
export async function writeDependencyRecord(outputStem: string, deps: DepCrate[]): Promise<void> {
  await writeAtomically(recordPath(outputStem), Buffer.from(JSON.stringify(deps)), false);
}

function recordPath(stem: string): string {
  return path.join(path.dirname(stem), '.rustexec', `${path.basename(stem)}.deps`);
}
