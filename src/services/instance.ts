import { ActionCache } from '../actioncache/action-cache';
import { BlobStore } from '../blobstore/blob-store';
import { Digest } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';
import { invalidArgument } from '../grpc/status-error';
import { REv2 } from '../proto';

/** One REAPI instance: its own CAS, AC and digest function. Instances never see each other's data. */
export interface Instance {
  readonly name: string;
  readonly digestFunction: DigestFunction;
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

  /** INVALID_ARGUMENT for an unknown name (NOT_FOUND would read as a cache miss to clients). */
  get(name: string | null | undefined, requestedFunction?: number | null): Instance {
    this.authorize(name ?? ''); // before the lookup, so a token cannot probe which instances exist
    const inst = this.byName.get(name ?? '');
    if (!inst) {
      throw invalidArgument(`unknown instance name "${name ?? ''}"; this server serves ${this.names.map((n) => `"${n}"`).join(', ')}`);
    }
    if (requestedFunction && requestedFunction !== inst.digestFunction.id) {
      throw invalidArgument(`digest_function ${requestedFunction} is not supported by instance "${inst.name}", which uses ${inst.digestFunction.name}`);
    }
    return inst;
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
