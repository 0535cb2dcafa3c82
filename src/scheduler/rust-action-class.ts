import { ActionDescriber } from './action-describer';

/** rustc actions by class and crate; a fused run (one rustc for a metadata/rlib pair) is an rlib compile in phase `fused`. */
export const describeRustAction: ActionDescriber = (r) => {
  const rust = r.rust;
  if (!rust || rust.kind === 'other') return { actionClass: 'other', labels: {} };
  const labels: Record<string, string> = {};
  if (rust.crateName) labels.crate = rust.crateName;
  switch (rust.kind) {
    case 'rustc-metadata':
      labels.phase = r.carrier ? 'fused' : 'metadata';
      return { actionClass: r.carrier ? 'rust-rlib' : 'rust-metadata', labels };
    case 'rustc-rlib':
      labels.phase = r.carrier ? 'fused' : 'rlib';
      return { actionClass: 'rust-rlib', labels };
    case 'rustc-proc-macro':
      labels.phase = 'proc-macro';
      return { actionClass: 'rust-bin', labels };
    default:
      labels.phase = 'bin';
      return { actionClass: 'rust-bin', labels };
  }
};
