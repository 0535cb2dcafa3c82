// Plain types (no code, no imports) so that the dashboard's page can share them with the server.

/** How the backend classifies an action from its Command (see rustc-command.ts). */
export type RustActionKind = 'rustc-metadata' | 'rustc-rlib' | 'rustc-bin' | 'rustc-proc-macro' | 'other';

/** A crate a rustc action compiles against, and which of its outputs it needs (a pipelined build takes the .rmeta). */
export interface CrateDep {
  crate: string;
  needs: 'rmeta' | 'rlib';
}
