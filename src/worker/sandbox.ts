import { spawnSync } from 'node:child_process';
import { constants, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { REv2 } from '../proto';
import { RunAs } from './run-as';

/** Where one action may write and whether it may reach the network. */
export interface SandboxSpec {
  /** The action's own directory: the only writable place besides a private /tmp. */
  root: string;
  cwd: string;
  network: boolean;
}

/** The platform property an action sets to ask for the network (`network=on`); absent or `off` means none. */
export const NETWORK_PROPERTY = 'network';

/** Whether an action asks for the network: Action.platform (or the older Command.platform) has `network=on`. */
export function wantsNetwork(action: REv2.IAction | null | undefined, command: REv2.ICommand | null | undefined): boolean {
  const props = action?.platform?.properties?.length ? action.platform.properties : (command?.platform?.properties ?? []);
  return props.some((p) => p.name === NETWORK_PROPERTY && p.value === 'on');
}

/**
 * Whether `cmd` resolves to an executable file as the sandbox's execvp would find it (relative to `cwd`, or on
 * `PATH`): a missing command stays a precise INVALID_ARGUMENT instead of bubblewrap's exit status 1.
 */
export async function findExecutable(cmd: string, cwd: string, pathVar: string): Promise<boolean> {
  const candidates = cmd.includes('/') ? [path.resolve(cwd, cmd)] : pathVar.split(':').map((d) => path.resolve(cwd, d || '.', cmd));
  for (const c of candidates) {
    const ok = await fsp.access(c, constants.X_OK).then(() => fsp.stat(c)).then((st) => st.isFile(), () => false);
    if (ok) return true;
  }
  return false;
}

/**
 * Runs each action under bubblewrap in its own mount, PID, IPC, UTS and (unless asked) network namespaces: the whole
 * filesystem read-only, the action directory writable, a private /tmp, the worker's other action directories and its
 * file cache hidden. The PID namespace ends with the command, taking every process it left behind with it, even one
 * that left the process group with setsid. Started as root, bubblewrap needs nothing else; started as an
 * unprivileged user (--run-as, or a worker that is not root) it needs unprivileged user namespaces.
 */
export class BubblewrapSandbox {
  constructor(
    private readonly bwrap: string,
    /** Directories to hide from every action (the work directory with the other actions, the file cache). */
    private readonly hidden: string[],
  ) {}

  /** The command line that runs `argv` inside the sandbox. */
  wrap(argv: string[], spec: SandboxSpec): string[] {
    const args = [this.bwrap, '--die-with-parent', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--hostname', 'rustexec-action'];
    if (!spec.network) args.push('--unshare-net');
    args.push('--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp');
    for (const h of this.hidden) args.push('--tmpfs', h);
    args.push('--bind', spec.root, spec.root, '--chdir', spec.cwd, '--', ...argv);
    return args;
  }
}

/**
 * Finds a bubblewrap that works here for `runAs` (or the worker's own user) by running `true` in the sandbox; the
 * reason when it cannot, so the worker can say why it runs actions without one.
 */
export function probeBubblewrap(runAs?: RunAs, bwrap = 'bwrap'): { ok: true } | { ok: false; reason: string } {
  const r = spawnSync(bwrap, ['--die-with-parent', '--unshare-pid', '--unshare-net', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--', 'true'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000, ...runAs });
  if (r.error) return { ok: false, reason: (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? `${bwrap} is not installed (Debian: apt-get install bubblewrap)` : r.error.message };
  if (r.status !== 0) {
    const uid = runAs?.uid ?? process.getuid?.();
    return { ok: false, reason: `${bwrap} failed as uid ${uid}: ${r.stderr.toString().trim()} (as a user other than root it needs unprivileged user namespaces: sysctl user.max_user_namespaces > 0, kernel.unprivileged_userns_clone=1)` };
  }
  return { ok: true };
}
