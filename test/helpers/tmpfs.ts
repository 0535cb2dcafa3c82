import { execFileSync } from 'node:child_process';
import { promises as fsp, statfsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Tmpfs {
  dir: string;
  /** Free bytes on it now. */
  free(): number;
  unmount(): Promise<void>;
}

/**
 * Mounts a tmpfs of `bytes` (a small disk that really fills up). Needs root (CAP_SYS_ADMIN), as CI runs; anywhere
 * else it fails and says what is missing, rather than skipping the test.
 */
export async function mountTmpfs(bytes: number): Promise<Tmpfs> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    await fsp.rmdir(dir).catch(() => undefined);
    const why = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
    throw new Error(`disk-full tests mount a ${bytes}-byte tmpfs and need root (CAP_SYS_ADMIN) and mount(8) from util-linux; uid ${process.getuid?.()} could not: ${why}`);
  }
  return {
    dir,
    free: () => {
      const s = statfsSync(dir);
      return s.bavail * s.bsize;
    },
    unmount: async () => {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      await fsp.rmdir(dir).catch(() => undefined);
    },
  };
}
