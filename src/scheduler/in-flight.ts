import type { Digest } from '../digest/digest';
import type { Task } from './task';

/**
 * Client tasks in flight by digest function, instance and action digest: nested maps keyed by what the request
 * already holds, so a submit builds no key string (once per action on the dispatch path).
 * By function too: SHA256TREE and SHA-256 digests of an Action (≤ 1 KiB) coincide, but their results must not.
 *
 * The innermost map is keyed by the hash's first 32 bits, a small integer: a lookup (almost always a miss) then compares
 * numbers in the table instead of reading each candidate's 64-character key string, a cache miss apiece (in the scale
 * bench, string keys made this 5 % of the scheduler's CPU). The task found is checked against the whole digest.
 */
export class InFlight {
  private readonly byFunction = new Map<Digest['fn'], Map<string, Map<number, Task>>>();

  get(instanceName: string, digest: Digest): Task | undefined {
    const t = this.byFunction.get(digest.fn)?.get(instanceName)?.get(prefix(digest.hash));
    return t && sameDigest(t.request.actionDigest, digest) ? t : undefined;
  }

  /** False when another task holds the place (another action whose hash starts alike: the newcomer runs on its own). */
  set(instanceName: string, digest: Digest, task: Task): boolean {
    let byInstance = this.byFunction.get(digest.fn);
    if (!byInstance) this.byFunction.set(digest.fn, (byInstance = new Map()));
    let byHash = byInstance.get(instanceName);
    if (!byHash) byInstance.set(instanceName, (byHash = new Map()));
    const key = prefix(digest.hash);
    if (byHash.has(key)) return false;
    byHash.set(key, task);
    return true;
  }

  /** Forgets `task` if it holds its place (an instance's map stays: instances are few). */
  delete(instanceName: string, digest: Digest, task: Task): void {
    const byHash = this.byFunction.get(digest.fn)?.get(instanceName);
    const key = prefix(digest.hash);
    if (byHash?.get(key) === task) byHash.delete(key);
  }
}

/** The first 8 hex digits as a signed 32-bit integer (a V8 small integer: stored in the table, not boxed). */
function prefix(hash: string): number {
  let n = 0;
  for (let i = 0; i < 8; i++) {
    const c = hash.charCodeAt(i);
    n = (n << 4) | (c <= 57 ? c - 48 : c - 87); // (digests are validated lowercase hex)
  }
  return n;
}

function sameDigest(a: Digest, b: Digest): boolean {
  return a === b || (a.size === b.size && a.hash === b.hash);
}
