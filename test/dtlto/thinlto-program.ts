import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where the test fixtures live in the source tree (fixtures are shell scripts, not compiled). */
export const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/dtlto');

/** Three C modules (one of them in a static archive, like an rlib's members) that import from each other. */
const SOURCES: Record<string, string> = {
  'main.c': `#include <stdio.h>
int scale(int); int offset(int); const char *label(void);
int main(void) { int s = 0; for (int i = 0; i < 10; i++) s += scale(i) + offset(i); printf("%s %d\\n", label(), s); return 0; }
`,
  'scale.c': `int offset(int);
int scale(int x) { return 3 * x + offset(x); }
const char *label(void) { return "total"; }
`,
  'offset.c': `int offset(int x) { return x ^ 5; }
`,
};

export interface ThinLtoProgram {
  dir: string;
  /** Links with `-fthinlto-distributor=<distributor>` and returns the binary's bytes. */
  link(distributor: string, out: string, env?: NodeJS.ProcessEnv, extra?: string[]): Promise<Buffer>;
  /** Rewrites one source and recompiles its bitcode. */
  change(file: string, source: string): Promise<void>;
}

/** Compiles the bitcode (clang-22 -flto=thin) into `dir`; offset.o goes into liboffset.a. */
export async function thinLtoProgram(dir: string): Promise<ThinLtoProgram> {
  const compile = async (file: string, source: string) => {
    await fsp.writeFile(path.join(dir, file), source);
    await run('clang-22', ['-flto=thin', '-O2', '-c', file, '-o', file.replace(/\.c$/, '.o')], { cwd: dir });
    if (file === 'offset.c') {
      await fsp.rm(path.join(dir, 'liboffset.a'), { force: true });
      await run('llvm-ar-22', ['rcs', 'liboffset.a', 'offset.o'], { cwd: dir });
    }
  };
  for (const [file, source] of Object.entries(SOURCES)) await compile(file, source);
  return {
    dir,
    change: compile,
    link: async (distributor, out, env = process.env, extra = []) => {
      await run('clang-22', ['-flto=thin', '-fuse-ld=lld-22', `-fthinlto-distributor=${distributor}`, ...extra, 'main.o', 'scale.o', 'liboffset.a', '-o', out], { cwd: dir, env });
      return fsp.readFile(path.join(dir, out));
    },
  };
}
