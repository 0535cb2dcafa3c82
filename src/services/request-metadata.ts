import type { Metadata } from '@grpc/grpc-js';
import { re, REv2 } from '../proto';

const KEY = 'build.bazel.remote.execution.v2.requestmetadata-bin';

/** The client's RequestMetadata header (tool, invocation id, mnemonic), if it sent a readable one. */
export function requestMetadata(metadata: Metadata): REv2.RequestMetadata | undefined {
  const raw = metadata.get(KEY)[0];
  if (!raw || typeof raw === 'string') return undefined;
  try {
    return re.RequestMetadata.decode(raw);
  } catch {
    return undefined;
  }
}
