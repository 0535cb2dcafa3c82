import * as path from 'node:path';
import { invalidArgument } from '../grpc/status-error';

/** A single path component from a Directory message: non-empty, no '/', not '.' or '..', no NUL. */
export function checkName(name: string, where: string): void {
  if (!name || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw invalidArgument(`unsafe input tree: ${where} has the name ${JSON.stringify(name)}; names must be one non-empty path component other than "." and ".."`);
  }
}

/**
 * A relative path (output path or working directory) normalised to components; refuses absolute paths and
 * paths that leave their base with "..". The empty path (and ".") is the base itself.
 */
export function relativeComponents(p: string, what: string): string[] {
  if (p.includes('\0')) throw invalidArgument(`${what} ${JSON.stringify(p)} contains a NUL byte`);
  if (path.posix.isAbsolute(p)) throw invalidArgument(`${what} ${JSON.stringify(p)} must be relative to the input root`);
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) throw invalidArgument(`${what} ${JSON.stringify(p)} leaves the input root`);
      out.pop();
    } else out.push(c);
  }
  return out;
}

const MAX_SYMLINK_HOPS = 40;

/**
 * Whether a symlink at `linkDir/…` with `target` stays inside the root, following the other symlinks of the
 * tree (`symlinks`: path → target) like the kernel would; a purely lexical check misses `a -> sub/l/..` with
 * `sub/l -> ..`. Components that do not exist are treated as directories (outputs appear later).
 */
export function symlinkStaysInside(linkDir: string[], target: string, symlinks: ReadonlyMap<string, string>): boolean {
  return resolveInside(linkDir, target, symlinks, 0) !== undefined;
}

function resolveInside(base: string[], target: string, symlinks: ReadonlyMap<string, string>, hops: number): string[] | undefined {
  if (hops > MAX_SYMLINK_HOPS || target.startsWith('/')) return undefined;
  let stack = [...base];
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (stack.length === 0) return undefined;
      stack.pop();
      continue;
    }
    stack.push(c);
    const next = symlinks.get(stack.join('/'));
    if (next !== undefined) {
      const resolved = resolveInside(stack.slice(0, -1), next, symlinks, hops + 1);
      if (!resolved) return undefined;
      stack = resolved;
    }
  }
  return stack;
}

/**
 * An output path as the Command names it, relative to `workingDirectory` (spec: no leading or trailing slash), resolved
 * to components relative to the input root; INVALID_ARGUMENT when it is absolute, ends in '/', or leaves the root
 * ("../x" from working directory "sub" is "x", inside it).
 */
export function outputPathComponents(p: string, workingDirectory: string, what: string): string[] {
  if (p.includes('\0')) throw invalidArgument(`${what} ${JSON.stringify(p)} contains a NUL byte`);
  if (path.posix.isAbsolute(p)) throw invalidArgument(`${what} ${JSON.stringify(p)} is absolute; output paths are relative to the working directory`);
  if (p.endsWith('/')) throw invalidArgument(`${what} ${JSON.stringify(p)} ends with "/"; output paths have no trailing slash`);
  const wd = relativeComponents(workingDirectory, 'working_directory');
  return relativeComponents([...wd, p].join('/'), `${what} ${JSON.stringify(p)} (from working_directory ${JSON.stringify(workingDirectory)}) as`);
}
