import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { probeClangMajor } from '../util/clang-version';

export interface Capability {
  name: string;
  value: string;
}

export interface ToolCapabilityOptions {
  /** The PATH actions run with when they send none (DEFAULT_PATH): that is where they will look for the tool. */
  searchPath: string;
  /** Runs `<file> --version` and returns the clang major (injected in tests). */
  clangMajor?: (file: string) => Promise<number>;
}

const VERSIONED_CLANG = /^clang-(\d+)$/;

/**
 * What tools this worker can run, as platform properties: `clang=N` when `clang-N` is on the search path and its
 * `--version` says N. Actions that need a tool name it in their platform and call it by that name (the DTLTO
 * distributor asks for `clang=22` and runs `clang-22`), so only workers that have it take them.
 */
export async function detectToolCapabilities(o: ToolCapabilityOptions): Promise<Capability[]> {
  const probe = o.clangMajor ?? probeClangMajor;
  const candidates = new Map<string, number>();
  for (const dir of o.searchPath.split(path.delimiter).filter(Boolean)) {
    for (const n of await fsp.readdir(dir).catch(() => [] as string[])) {
      const m = VERSIONED_CLANG.exec(n);
      if (m && ![...candidates.values()].includes(Number(m[1]))) candidates.set(path.join(dir, n), Number(m[1]));
    }
  }
  const checked = await Promise.all([...candidates].map(async ([file, n]) => ((await probe(file).catch(() => undefined)) === n ? n : undefined)));
  return checked
    .filter((n): n is number => n !== undefined)
    .sort((a, b) => a - b)
    .map((n) => ({ name: 'clang', value: String(n) }));
}
