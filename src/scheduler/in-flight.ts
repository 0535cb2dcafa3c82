import type { Digest } from '../digest/digest';
import type { Task } from './task';

/**
 * Client tasks in flight by digest function, instance and action digest: nested maps keyed by what the request
 * already holds, so a submit builds no key string (once per action on the dispatch path).
 * By function too: SHA256TREE and SHA-256 digests of an Action (≤ 1 KiB) coincide, but their results must not.
 */
export class InFlight {
  private readonly byFunction = new Map<Digest['fn'], Map<string, Map<string, Task>>>();

  get(instanceName: string, digest: Digest): Task | undefined {
    const t = this.byFunction.get(digest.fn)?.get(instanceName)?.get(digest.hash);
    return t && t.request.actionDigest.size === digest.size ? t : undefined;
  }

  /** False when another task holds the place (a hash collision across sizes: the newcomer runs on its own). */
  set(instanceName: string, digest: Digest, task: Task): boolean {
    let byInstance = this.byFunction.get(digest.fn);
    if (!byInstance) this.byFunction.set(digest.fn, (byInstance = new Map()));
    let byHash = byInstance.get(instanceName);
    if (!byHash) byInstance.set(instanceName, (byHash = new Map()));
    if (byHash.has(digest.hash)) return false;
    byHash.set(digest.hash, task);
    return true;
  }

  /** Forgets `task` if it holds its place (an instance's map stays: instances are few). */
  delete(instanceName: string, digest: Digest, task: Task): void {
    const byHash = this.byFunction.get(digest.fn)?.get(instanceName);
    if (byHash?.get(digest.hash) === task) byHash.delete(digest.hash);
  }
}
