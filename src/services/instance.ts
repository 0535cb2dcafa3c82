import { ActionCache } from '../actioncache/action-cache';
import { BlobStore } from '../blobstore/blob-store';
import { Digest } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';
import { selectDigestFunction } from '../digest/select-digest-function';
import { invalidArgument } from '../grpc/status-error';
import { REv2 } from '../proto';

/** One REAPI instance: its own CAS, AC and digest functions. Instances never see each other's data. */
export interface Instance {
  readonly name: string;
  /** Used when a request names no function and the hash length does not select another. */
  readonly digestFunction: DigestFunction;
  /** Every function requests may select (includes digestFunction); absent: only digestFunction. */
  readonly digestFunctions?: readonly DigestFunction[];
  readonly cas: BlobStore;
  readonly ac: ActionCache;
}

/** Looks up instances by name and parses digests with the instance's digest function. */
export class Instances {
  private readonly byName: Map<string, Instance>;

  /** `authorize` throws (PERMISSION_DENIED) when the current caller may not use an instance. */
  constructor(
    instances: Instance[],
    private readonly authorize: (instance: string) => void = () => undefined,
  ) {
    this.byName = new Map(instances.map((i) => [i.name, i]));
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  /**
   * INVALID_ARGUMENT for an unknown name (NOT_FOUND would read as a cache miss to clients), or for a requested
   * digest function the instance does not accept.
   */
  get(name: string | null | undefined, requestedFunction?: number | null): Instance {
    this.authorize(name ?? ''); // before the lookup, so a token cannot probe which instances exist
    const inst = this.byName.get(name ?? '');
    if (!inst) {
      throw invalidArgument(`unknown instance name "${name ?? ''}"; this server serves ${this.names.map((n) => `"${n}"`).join(', ')}`);
    }
    if (requestedFunction) selectDigestFunction(acceptedFunctions(inst), inst.digestFunction, requestedFunction, undefined, inst.name);
    return inst;
  }

  /**
   * The instance and digest function of one request: `requestedFunction` (the RPC's digest_function or the resource
   * name's segment) when set, else inferred from `sampleHash`'s length, else the instance's default.
   */
  request(name: string | null | undefined, requestedFunction: number | null | undefined, sampleHash?: string | null): { inst: Instance; fn: DigestFunction } {
    const inst = this.get(name);
    const fn = selectDigestFunction(acceptedFunctions(inst), inst.digestFunction, requestedFunction, sampleHash ? sampleHash.length : undefined, inst.name);
    return { inst, fn };
  }

  /** For the server's own work (e.g. recording a worker's result), outside any client's permissions. */
  internal(name: string): Instance {
    const inst = this.byName.get(name);
    if (!inst) throw invalidArgument(`unknown instance name "${name}"`);
    return inst;
  }

  digest(inst: Instance, d: REv2.IDigest | null | undefined, what: string): Digest {
    return Digest.fromProto(d, inst.digestFunction, what);
  }
}

export function acceptedFunctions(inst: Instance): readonly DigestFunction[] {
  return inst.digestFunctions ?? [inst.digestFunction];
}
