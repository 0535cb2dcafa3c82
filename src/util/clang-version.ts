import { execFile } from 'node:child_process';

/** The major version in `clang --version` output ("Debian clang version 22.1.8 …" → 22), or undefined. */
export function parseClangMajor(versionText: string): number | undefined {
  const m = /\bclang version (\d+)\.\d+/.exec(versionText);
  return m ? Number(m[1]) : undefined;
}

/** Runs `<clang> --version` and returns its major version; rejects with the reason it could not tell. */
export function probeClangMajor(clang: string, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(clang, ['--version'], { timeout: timeoutMs }, (err, stdout) => {
      if (err) return reject(new Error(`cannot run ${clang} --version: ${err.message}`));
      const major = parseClangMajor(stdout);
      if (major === undefined) return reject(new Error(`${clang} --version does not say "clang version N.M": ${stdout.split('\n')[0]}`));
      resolve(major);
    });
  });
}
