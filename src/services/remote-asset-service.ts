import { createReadStream, promises as fsp } from 'node:fs';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { AssetIndex } from '../asset/asset-index';
import { download, DownloadOptions } from '../asset/http-downloader';
import { parseSri, Sri } from '../asset/sri';
import { Digest } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';
import { OK_STATUS, toRpcStatus } from '../grpc/rpc-status';
import { unary } from '../grpc/handlers';
import { Code, invalidArgument, StatusError } from '../grpc/status-error';
import { asset, AssetPb, re, REv2 } from '../proto';
import { Instance, Instances } from './instance';

export type RemoteAssetOptions = Omit<DownloadOptions, 'userAgent'>;

type Qualifiers = AssetPb.IQualifier[];
const SRI = 'checksum.sri';

/**
 * Remote Asset API (build.bazel.remote.asset.v1). FetchBlob serves content known by its checksum.sri or by a pushed
 * (uri, qualifiers) mapping straight from the CAS; otherwise it downloads from an allowed host, verifies the checksum,
 * stores the blob and remembers it. Push records mappings for content already in the CAS. Fetch errors are in the
 * response's status (as the API says); malformed requests are INVALID_ARGUMENT.
 */
export function remoteAssetServices(instances: Instances, options: RemoteAssetOptions, logger: Logger): { fetch: UntypedServiceImplementation; push: UntypedServiceImplementation } {
  const index = (inst: Instance) => new AssetIndex(inst.ac);

  const fetchBlob = async (req: AssetPb.FetchBlobRequest): Promise<AssetPb.FetchBlobResponse> => {
    if (req.uris.length === 0) throw invalidArgument('uris is empty: FetchBlob needs at least one URI');
    checkUnique(req.qualifiers);
    const sriValue = req.qualifiers.find((q) => q.name === SRI)?.value;
    const sri = sriValue ? parseSri(sriValue) : undefined;
    // REAPI asset: SHA-256 unless digest_function says otherwise, and then it must match the checksum's function.
    const { inst, fn } = instances.request(req.instanceName, req.digestFunction || re.DigestFunction.Value.SHA256);
    if (sri && req.digestFunction && sri.fn !== fn) throw invalidArgument(`digest_function ${fn.name} differs from the ${sri.fn.name} of checksum.sri`);
    const found = (d: Digest, uri: string) => asset.FetchBlobResponse.create({ status: OK_STATUS, uri, blobDigest: d.toProto(), digestFunction: d.fn.id, qualifiers: req.qualifiers });

    if (sri && sri.fn === fn) {
      const known = await index(inst).lookup(AssetIndex.checksumKey(sri.fn, sri.hex), fn);
      if (known) return found(known, req.uris[0]);
    }
    for (const uri of req.uris) {
      const pushed = await index(inst).lookup(AssetIndex.uriKey(uri, req.qualifiers), fn);
      if (pushed) return found(pushed, uri);
    }
    let last: StatusError | undefined;
    for (const uri of req.uris) {
      try {
        const d = await fetchFromOrigin(inst, uri, fn, sri, req.timeout);
        if (sri) await index(inst).record(AssetIndex.checksumKey(sri.fn, sri.hex), d);
        logger.info({ uri, digest: d.toString() }, 'asset fetched from origin');
        return found(d, uri);
      } catch (err) {
        last = err instanceof StatusError ? err : new StatusError(Code.INTERNAL, (err as Error).message);
        logger.info({ uri, code: Code[last.code], err: last.message }, 'asset fetch failed');
      }
    }
    return asset.FetchBlobResponse.create({ status: toRpcStatus(last!), uri: req.uris.at(-1) });
  };

  const fetchFromOrigin = async (inst: Instance, uri: string, fn: DigestFunction, sri: Sri | undefined, timeout: AssetPb.IFetchBlobRequest['timeout']): Promise<Digest> => {
    const requestedMs = timeout ? Number(timeout.seconds ?? 0) * 1000 + Math.floor((timeout.nanos ?? 0) / 1e6) : 0;
    const got = await download(uri, fn, sri?.fn, { ...options, timeoutMs: requestedMs > 0 ? Math.min(requestedMs, options.timeoutMs) : options.timeoutMs, userAgent: 'rustexec-remote-asset' });
    try {
      if (sri && got.checksumHex !== sri.hex) {
        throw new StatusError(Code.ABORTED, `${uri}: content has ${sri.fn.name} ${got.checksumHex}, checksum.sri says ${sri.hex}; nothing stored`);
      }
      const w = await inst.cas.createWriter(got.digest);
      try {
        for await (const chunk of createReadStream(got.file, { highWaterMark: 1024 * 1024 })) await w.write(chunk as Buffer);
        await w.commit();
      } catch (err) {
        await w.abort();
        throw err;
      }
      return got.digest;
    } finally {
      await fsp.rm(got.file, { force: true });
    }
  };

  const push = async (req: { instanceName: string; uris: string[]; qualifiers: Qualifiers; digestFunction: number }, root: REv2.IDigest | null | undefined, what: string) => {
    if (req.uris.length === 0) throw invalidArgument('uris is empty: Push needs at least one URI');
    checkUnique(req.qualifiers);
    const { inst, fn } = instances.request(req.instanceName, req.digestFunction, root?.hash);
    const d = Digest.fromProto(root, fn, what);
    if ((await inst.cas.findMissing([d])).length > 0) throw new StatusError(Code.FAILED_PRECONDITION, `${what} ${d} is not in the CAS: upload it before pushing`);
    for (const uri of req.uris) await index(inst).record(AssetIndex.uriKey(uri, req.qualifiers), d);
    const sriValue = req.qualifiers.find((q) => q.name === SRI)?.value;
    const sri = sriValue ? parseSri(sriValue) : undefined;
    if (sri && sri.fn === fn) await index(inst).record(AssetIndex.checksumKey(sri.fn, sri.hex), d);
  };

  return {
    fetch: {
      fetchBlob: unary(logger, 'FetchBlob', fetchBlob),
      fetchDirectory: unary(logger, 'FetchDirectory', async (req: AssetPb.FetchDirectoryRequest) => {
        if (req.uris.length === 0) throw invalidArgument('uris is empty: FetchDirectory needs at least one URI');
        const { inst, fn } = instances.request(req.instanceName, req.digestFunction || re.DigestFunction.Value.SHA256);
        for (const uri of req.uris) {
          const d = await index(inst).lookup(AssetIndex.uriKey(`dir:${uri}`, req.qualifiers), fn);
          if (d) return asset.FetchDirectoryResponse.create({ status: OK_STATUS, uri, rootDirectoryDigest: d.toProto(), digestFunction: fn.id });
        }
        // Directories are served only from pushes: fetching and unpacking archives from origin is not implemented.
        return asset.FetchDirectoryResponse.create({ status: { code: Code.NOT_FOUND, message: `no directory was pushed for ${req.uris.join(', ')} with these qualifiers` }, uri: req.uris[0] });
      }),
    },
    push: {
      pushBlob: unary(logger, 'PushBlob', async (req: AssetPb.PushBlobRequest) => {
        await push(req, req.blobDigest, 'blob_digest');
        return asset.PushBlobResponse.create();
      }),
      pushDirectory: unary(logger, 'PushDirectory', async (req: AssetPb.PushDirectoryRequest) => {
        await push({ ...req, uris: req.uris.map((u) => `dir:${u}`) }, req.rootDirectoryDigest, 'root_directory_digest');
        return asset.PushDirectoryResponse.create();
      }),
    },
  };
}

function checkUnique(qualifiers: Qualifiers): void {
  const names = qualifiers.map((q) => q.name ?? '');
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw invalidArgument(`qualifier "${dup}" appears more than once`);
}
