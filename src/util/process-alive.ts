/**
 * Whether a process with this pid exists (EPERM: it does, owned by another user). Not a positive integer (an unreadable
 * lock owner file, say): no, since kill(0 or -n) would ask about a whole process group instead.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
