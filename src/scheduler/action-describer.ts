import { ExecutionRequest } from './execution';

export interface ActionDescription {
  actionClass: string;
  labels: Record<string, string>;
}

/** Describes an action for observers (metrics labels, dashboard columns); injected so the core needs no Rust terms. */
export type ActionDescriber = (request: ExecutionRequest) => ActionDescription;

/** The core's default: every action is "other". */
export const describeGeneric: ActionDescriber = () => ({ actionClass: 'other', labels: {} });
