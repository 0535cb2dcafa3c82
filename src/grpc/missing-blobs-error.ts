import { Digest } from '../digest/digest';
import { Code, StatusError } from './status-error';
import { packAny, rpc } from '../proto';

/** FAILED_PRECONDITION with one MISSING violation per blob: clients re-upload exactly these and retry. */
export function missingBlobsError(missing: Digest[], what: string): StatusError {
  const violations = missing.map((d) => rpc.PreconditionFailure.Violation.create({ type: 'MISSING', subject: `blobs/${d}`, description: `${what} ${d} is not in the CAS` }));
  const shown = missing.slice(0, 3).map((d) => `${d}`).join(', ');
  return new StatusError(
    Code.FAILED_PRECONDITION,
    `${missing.length} ${what}(s) missing from the CAS: ${shown}${missing.length > 3 ? ', …' : ''}; upload them and retry`,
    [packAny(rpc.PreconditionFailure, rpc.PreconditionFailure.create({ violations }))],
  );
}
