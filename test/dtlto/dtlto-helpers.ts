import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { REPO } from '../cargo/cargo-harness';

export const DISTRIBUTOR = path.join(REPO, 'bin/rustexec-dtlto');
export const LOCAL_DISTRIBUTOR = path.join(REPO, 'test/fixtures/dtlto/local-distributor.sh');

/** The host's target triple: building with --target keeps RUSTFLAGS (and so DTLTO) off build scripts and proc-macros. */
export function hostTriple(): string {
  const m = /^host: (\S+)$/m.exec(execFileSync('rustc', ['-vV'], { encoding: 'utf8' }));
  if (!m) throw new Error('rustc -vV names no host');
  return m[1];
}

/** The documented Cargo recipe (README "Distributed ThinLTO"), with lld's distributor at `distributor`. */
export function dtltoRustflags(distributor: string): string {
  return ['-Clinker-plugin-lto', '-Clinker=clang-22', '-Clink-arg=-fuse-ld=lld-22', '-Clink-arg=-flto=thin', `-Clink-arg=-fthinlto-distributor=${distributor}`].join(' ');
}

/**
 * Points the link at another distributor without changing RUSTFLAGS: RUSTFLAGS are part of every crate's
 * fingerprint, so the path in them is a symlink that a test re-aims between links.
 */
export async function aimDistributor(link: string, target: string): Promise<void> {
  await fsp.rm(link, { force: true });
  await fsp.symlink(target, link);
}
