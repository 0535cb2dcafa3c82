import { ActionDescriber, ActionDescription } from './action-describer';
import { ExecutionRequest } from './execution';

const OTHER: ActionDescription = Object.freeze({ actionClass: 'other', labels: Object.freeze({}) });

/**
 * Descriptions are read-only and few (one per crate and phase), so each is built once and shared: this runs for every
 * task on the dispatch path.
 */
const known = new Map<string, Map<string, ActionDescription>>();
const knownCarriers = new Map<string, Map<string, ActionDescription>>();

/** rustc actions by class and crate; a fused run (one rustc for a metadata/rlib pair) is an rlib compile in phase `fused`. */
export const describeRustAction: ActionDescriber = (r) => {
  const rust = r.rust;
  if (!rust || rust.kind === 'other') return OTHER;
  const byKind = r.carrier ? knownCarriers : known;
  let byCrate = byKind.get(rust.kind);
  if (!byCrate) byKind.set(rust.kind, (byCrate = new Map()));
  const crate = rust.crateName ?? '';
  let d = byCrate.get(crate);
  if (!d) {
    d = describe(r);
    // Bounded: a server sees a workspace's crates, but forget them all rather than grow without end.
    if (byCrate.size >= 50_000) byCrate.clear();
    byCrate.set(crate, d);
  }
  return d;
};

function describe(r: ExecutionRequest): ActionDescription {
  const rust = r.rust!;
  const labels: Record<string, string> = {};
  if (rust.crateName) labels.crate = rust.crateName;
  let actionClass: string;
  switch (rust.kind) {
    case 'rustc-metadata':
      labels.phase = r.carrier ? 'fused' : 'metadata';
      actionClass = r.carrier ? 'rust-rlib' : 'rust-metadata';
      break;
    case 'rustc-rlib':
      labels.phase = r.carrier ? 'fused' : 'rlib';
      actionClass = 'rust-rlib';
      break;
    case 'rustc-proc-macro':
      labels.phase = 'proc-macro';
      actionClass = 'rust-bin';
      break;
    default:
      labels.phase = 'bin';
      actionClass = 'rust-bin';
  }
  return Object.freeze({ actionClass, labels: Object.freeze(labels) });
}
