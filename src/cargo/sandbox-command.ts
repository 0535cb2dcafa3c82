/**
 * The command a worker runs for a Cargo compile. rustc embeds absolute paths (the working directory, source files,
 * OUT_DIR includes) in .rlib/.rmeta/binaries and in the crate hash, and `--remap-path-prefix` changes the crate hash
 * too (a remapped path hashes differently from the same path unmapped; checked with rustc 1.95). So outputs are
 * bit-identical to a local build only if rustc runs at the very same paths: the action runs rustc under bubblewrap,
 * with each mapped directory of the input root bound at its original absolute path, the worker's system directories
 * (/usr, /lib*, /bin, /etc: cc, the linker, libc) read-only beside them, and nothing else of the worker visible.
 *
 *   /bin/sh -c SCRIPT rustexec-rustc CWD MOUNT... -- RUSTC ARGS...
 *
 * SCRIPT is fixed text, so the action digest depends only on the arguments. A worker needs `bwrap` (Debian:
 * bubblewrap) and user namespaces; without it the script exits 125 with a message saying so.
 */
export const SANDBOX_MARKER = 'rustexec-rustc';

/** Exit status of the script when the worker cannot build the sandbox (never a compile error). */
export const SANDBOX_FAILURE_EXIT = 125;

const SCRIPT = String.raw`set -eu
r=$PWD
cwd=$1; shift
mounts='
'
while [ "$1" != -- ]; do mounts="$mounts$1
"; shift; done
shift
if ! command -v bwrap >/dev/null 2>&1; then
  echo "rustexec-sandbox: this worker has no bwrap (install bubblewrap) to run rustc at the client's paths" >&2; exit 125
fi
is_mount() { case "$mounts" in *"
$1
"*) return 0;; esac; return 1; }
is_ancestor() { case "$mounts" in *"
$1/"*) return 0;; esac; return 1; }
host() {
  if [ -h "$1" ]; then printf '%s\0' --symlink "$(readlink "$1")" "$1"; else printf '%s\0' --ro-bind "$1" "$1"; fi
}
expand() {
  for x in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    [ -e "$x" ] || [ -h "$x" ] || continue
    if is_mount "$x"; then continue; fi
    if is_ancestor "$x"; then
      if [ -d "$x" ] && [ ! -h "$x" ]; then expand "$x"; fi
      continue
    fi
    host "$x"
  done
}
# Inside the input root: the only writable place under a sandboxed worker besides /tmp.
a="$r/.rustexec-sandbox-args"
{
  for x in /usr /bin /sbin /lib /lib32 /lib64 /libx32 /etc; do
    [ -e "$x" ] || [ -h "$x" ] || continue
    if is_mount "$x"; then continue; fi
    if is_ancestor "$x" && [ -d "$x" ] && [ ! -h "$x" ]; then expand "$x"; else host "$x"; fi
  done
  printf '%s\0' --proc /proc --dev /dev --tmpfs /tmp --die-with-parent --unshare-pid
  printf '%s' "$mounts" | while IFS= read -r m; do
    [ -n "$m" ] || continue
    if [ -e "$r$m" ]; then printf '%s\0' --bind "$r$m" "$m"; else printf '%s\0' --dir "$m"; fi
  done
  printf '%s\0' --dir "$cwd" --chdir "$cwd"
} > "$a"
exec bwrap --args 3 "$@" 3< "$a"
`;

/** argv of the sandboxed compile: rustc runs in `cwd` with each of `mounts` (absolute paths) bound from the input root. */
export function sandboxArgv(cwd: string, mounts: string[], rustc: string, args: string[]): string[] {
  for (const m of mounts) if (!m.startsWith('/') || m.includes('\n')) throw new Error(`mount "${m}" must be an absolute path without newlines`);
  return ['/bin/sh', '-c', SCRIPT, SANDBOX_MARKER, cwd, ...mounts, '--', rustc, ...args];
}

/**
 * The smallest set of directories (or single files) that covers every path: a path inside another is dropped. Sorted
 * so that the action digest does not depend on discovery order.
 */
export function minimalMounts(paths: Iterable<string>): string[] {
  const sorted = [...new Set(paths)].sort();
  const out: string[] = [];
  for (const p of sorted) if (!out.some((m) => p === m || p.startsWith(`${m}/`))) out.push(p);
  return out;
}
