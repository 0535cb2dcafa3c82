import { promises as fsp } from 'node:fs';

/**
 * Resolves once `file` exists (rustc renames a finished .rmeta into place, so existence means complete) and the
 * command's stderr has been quiet for `quietMs` — the process wrapper may still be forwarding diagnostics rustc
 * printed before the .rmeta. Resolves undefined if `signal` aborts first (the command ended).
 */
export async function waitForRmeta(file: string, stderrPath: string, signal: AbortSignal, pollMs = 10, quietMs = 30): Promise<true | undefined> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (;;) {
    if (await exists(file)) break;
    if (signal.aborted) return undefined; // The command ended without (ever) writing it.
    await sleep(pollMs);
  }
  let size = await sizeOf(stderrPath);
  for (let waited = 0; waited < 500 && !signal.aborted; waited += quietMs) {
    await sleep(quietMs);
    const now = await sizeOf(stderrPath);
    if (now === size) break;
    size = now;
  }
  return true;
}

async function exists(f: string): Promise<boolean> {
  try {
    await fsp.access(f);
    return true;
  } catch {
    return false;
  }
}

async function sizeOf(f: string): Promise<number> {
  try {
    return (await fsp.stat(f)).size;
  } catch {
    return 0;
  }
}
