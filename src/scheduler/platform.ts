import { REv2 } from '../proto';

export interface PlatformProperty {
  name: string;
  value: string;
}

/** What a worker offers: each property name maps to every value it accepts. */
export type WorkerPlatform = Map<string, Set<string>>;

export function workerPlatform(props: PlatformProperty[]): WorkerPlatform {
  const m: WorkerPlatform = new Map();
  for (const p of props) {
    if (!m.has(p.name)) m.set(p.name, new Set());
    m.get(p.name)!.add(p.value);
  }
  return m;
}

/** Action.platform wins over the deprecated Command.platform (REAPI v2.2 moved it). */
export function requiredPlatform(action: REv2.IAction, command: REv2.ICommand): PlatformProperty[] {
  const props = action.platform?.properties?.length ? action.platform.properties : (command.platform?.properties ?? []);
  return props.map((p) => ({ name: p.name ?? '', value: p.value ?? '' }));
}

/** The first required property the worker does not offer, or undefined when it satisfies all of them. */
export function unsatisfied(worker: WorkerPlatform, required: PlatformProperty[]): PlatformProperty | undefined {
  for (const p of required) if (!worker.get(p.name)?.has(p.value)) return p;
  return undefined;
}

export function formatPlatform(props: PlatformProperty[]): string {
  return props.length ? props.map((p) => `${p.name}=${p.value}`).join(', ') : '(empty)';
}

/** The canonical key of a platform: `name=value` pairs sorted, comma-separated (empty for no properties). */
export function platformKey(props: PlatformProperty[]): string {
  if (props.length === 0) return '';
  return props
    .map((p) => `${p.name}=${p.value}`)
    .sort()
    .join(',');
}
