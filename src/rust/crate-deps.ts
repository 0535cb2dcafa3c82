import { BlobStore } from '../blobstore/blob-store';
import { readBlob } from '../blobstore/blob-io';
import { REv2 } from '../proto';
import { ParamFile } from './param-file';
import type { CrateDep } from './rust-action-kind';
import { declaredOutputs, RustcCommand } from './rustc-command';

export type { CrateDep };

/**
 * A crate's identity across builds: its output path without the `.rmeta`/`.rlib` extension, and without rules_rust's
 * `-hollow` suffix so a hollow rlib and its full rlib are one crate (a binary: its output).
 */
export function crateId(outputPath: string): string {
  return outputPath.replace(/(-hollow)?\.(rmeta|rlib)$/, '');
}

/** The crate a classified rustc action builds, or undefined when it cannot be told. */
export function crateOf(rc: RustcCommand, command: REv2.ICommand): string | undefined {
  if (rc.rmetaPath) return crateId(rc.rmetaPath);
  if (rc.kind === 'rustc-bin' || rc.kind === 'rustc-proc-macro') return declaredOutputs(command)[0];
  return undefined;
}

/**
 * The crates a rustc action links against, from its `--extern [opts:]name=path` flags — on the command line or in its
 * `@param` file. Best effort: ordering hints only, so any problem yields no edges.
 */
export async function crateDeps(cas: BlobStore, command: REv2.ICommand, params: ParamFile | undefined): Promise<CrateDep[]> {
  const args = [...(command.arguments ?? [])];
  if (params) args.push(...(await readBlob(cas, params.digest, 16 * 1024 * 1024)).toString('utf8').split('\n'));
  return externs(args);
}

/** Parses `--extern name=path` and `--extern=name=path` (with optional `priv:`-style options) into dependencies. */
export function externs(args: string[]): CrateDep[] {
  const deps: CrateDep[] = [];
  for (let i = 0; i < args.length; i++) {
    const value = args[i] === '--extern' ? args[++i] : args[i].startsWith('--extern=') ? args[i].slice('--extern='.length) : undefined;
    const p = value?.slice(value.indexOf('=') + 1).trim();
    if (!value?.includes('=') || !p) continue; // `--extern name` alone names a sysroot crate.
    if (p.endsWith('.rmeta')) deps.push({ crate: crateId(p), needs: 'rmeta' });
    else if (p.endsWith('.rlib')) deps.push({ crate: crateId(p), needs: 'rlib' });
    else deps.push({ crate: p, needs: 'rlib' }); // A proc-macro .so: loaded whole.
  }
  return deps;
}
