import { invalidArgument } from '../grpc/status-error';

/** A parsed ByteStream resource name: `{instance}/blobs/{hash}/{size}` or `{instance}/uploads/{uuid}/blobs/{hash}/{size}{/metadata}`. */
export interface ResourceName {
  instance: string;
  uploadId?: string;
  /** Digest function segment of the path (REAPI 2.3: present for functions not inferred from the hash length). */
  digestFunction?: string;
  compressor?: string;
  hash: string;
  size: string;
}

const KEYWORDS = new Set(['blobs', 'uploads', 'compressed-blobs', 'actions', 'actionResults', 'operations', 'capabilities']);
/** A path segment that is a word but no hash, followed by hash and size, names a digest function. */
const FUNCTION_SEGMENT = /^[a-z][a-z0-9]*$/;
const HEX = /^[0-9a-f]+$/;

export function parseReadResourceName(name: string): ResourceName {
  const parts = split(name);
  const i = parts.findIndex((p) => p === 'blobs' || p === 'compressed-blobs');
  if (i < 0) throw malformed(name, 'expected "{instance}/blobs/{hash}/{size}"');
  const { rest, ...parsed } = parseBlobPart(name, parts, i, parts.slice(0, i));
  if (rest.length > 0) throw malformed(name, `unexpected "${rest.join('/')}" after the size (only upload names may carry metadata)`);
  return parsed;
}

export function parseWriteResourceName(name: string): ResourceName & { uploadId: string } {
  const parts = split(name);
  const i = parts.indexOf('uploads');
  if (i < 0 || parts.length < i + 2) throw malformed(name, 'expected "{instance}/uploads/{uuid}/blobs/{hash}/{size}"');
  const { rest: _metadata, ...parsed } = parseBlobPart(name, parts, i + 2, parts.slice(0, i));
  return { ...parsed, uploadId: parts[i + 1] };
}

function parseBlobPart(name: string, parts: string[], i: number, instanceParts: string[]): ResourceName & { rest: string[] } {
  for (const p of instanceParts) if (KEYWORDS.has(p)) throw malformed(name, `instance name segment "${p}" is a reserved word`);
  let j = i + 1;
  let compressor: string | undefined;
  if (parts[i] === 'compressed-blobs') compressor = parts[j++];
  else if (parts[i] !== 'blobs') throw malformed(name, 'expected "blobs" after the upload id');
  let digestFunction: string | undefined;
  if (parts[j] !== undefined && FUNCTION_SEGMENT.test(parts[j]) && !HEX.test(parts[j]) && parts[j + 2] !== undefined && /^[0-9]+$/.test(parts[j + 2])) {
    digestFunction = parts[j++];
  }
  const hash = parts[j];
  const size = parts[j + 1];
  if (hash === undefined || size === undefined) throw malformed(name, 'missing hash or size');
  if (!/^[0-9]+$/.test(size)) throw malformed(name, `size "${size}" is not a non-negative decimal integer`);
  return { instance: instanceParts.join('/'), compressor, digestFunction, hash, size, rest: parts.slice(j + 2) };
}

function split(name: string): string[] {
  if (typeof name !== 'string' || name.length === 0) throw invalidArgument('resource_name is empty');
  return name.split('/');
}

function malformed(name: string, why: string) {
  return invalidArgument(`malformed resource_name "${name.length > 200 ? name.slice(0, 200) + '…' : name}": ${why}`);
}
