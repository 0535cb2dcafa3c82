import { re, REv2 } from '../proto';

type Fields = NonNullable<ConstructorParameters<typeof re.ExecuteResponse>[0]>;

/**
 * An ExecuteResponse for a worker's answer, built per action (the scheduler's own and the result sink's). Not
 * protobufjs's create(), which lists its argument's keys and copies each through a generic keyed access; unset fields
 * read their defaults from the prototype either way.
 */
export function executeResponse(status: Fields['status'], result: Fields['result']): REv2.ExecuteResponse {
  const r = new re.ExecuteResponse();
  if (status) r.status = status;
  if (result) r.result = result;
  return r;
}
