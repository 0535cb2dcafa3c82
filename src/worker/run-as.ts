import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The unprivileged account actions run as, so that the read-only inputs they share with the file cache stay intact. */
export interface RunAs {
  uid: number;
  gid: number;
}

/**
 * Parses `--run-as`: `UID:GID`, `UID` (group = uid) or a user name from /etc/passwd. Only root can start processes
 * as another user, so a worker that is not root refuses the flag up front instead of failing every action.
 */
export function parseRunAs(value: string, passwd = '/etc/passwd', currentUid = process.getuid?.() ?? -1): RunAs {
  let runAs: RunAs | undefined;
  const numeric = /^(\d+)(?::(\d+))?$/.exec(value);
  if (numeric) runAs = { uid: Number(numeric[1]), gid: Number(numeric[2] ?? numeric[1]) };
  else {
    for (const line of readFileSync(passwd, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === value && f.length >= 4) runAs = { uid: Number(f[2]), gid: Number(f[3]) };
    }
    if (!runAs) throw new Error(`--run-as: no user "${value}" in ${passwd}; give UID:GID instead`);
  }
  if (currentUid !== 0) throw new Error(`--run-as needs the worker to run as root (it runs as uid ${currentUid})`);
  return runAs;
}

/** Hands every directory under `root` (and root itself) to the action's user, so it can create outputs and temp files; files stay as they are. */
export async function chownDirectories(root: string, runAs: RunAs): Promise<void> {
  await fsp.chown(root, runAs.uid, runAs.gid);
  for (const e of await fsp.readdir(root, { withFileTypes: true, recursive: true })) {
    if (e.isDirectory()) await fsp.chown(path.join(e.parentPath ?? e.path, e.name), runAs.uid, runAs.gid);
  }
}
