import { Digest } from '../../digest/digest';

/** Object key layout: `{prefix}cas/{hash}-{size}` for blobs, `{prefix}ac/{hash}-{size}` for action results. */
export const casPrefix = (prefix: string): string => `${prefix}cas/`;
export const acPrefix = (prefix: string): string => `${prefix}ac/`;
export const casKey = (prefix: string, d: Digest): string => `${casPrefix(prefix)}${d.key}`;
export const acKey = (prefix: string, d: Digest): string => `${acPrefix(prefix)}${d.key}`;

const KEY = /^[0-9a-f]+-[0-9]+$/;

/** The `{hash}-{size}` part of a listed object name under `dirPrefix`, or undefined for objects that are not ours. */
export function digestKeyOf(objectName: string, dirPrefix: string): string | undefined {
  if (!objectName.startsWith(dirPrefix)) return undefined;
  const rest = objectName.slice(dirPrefix.length);
  return KEY.test(rest) ? rest : undefined;
}
