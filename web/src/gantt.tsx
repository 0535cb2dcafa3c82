import type { ActionBar, BuildDetail } from './api';
import { ms } from './format';

const LABEL_W = 150;
const ROW_H = 22;
const AXIS_H = 22;

interface Segment {
  from: number;
  to: number;
  cls: string;
}

/** The phases of one bar: input fetch, execution (a fused run split at its .rmeta into metadata and rlib) and upload. */
function segments(a: ActionBar): Segment[] {
  const t = a.timings;
  const out: Segment[] = [];
  if (t.inputFetchStartMs !== undefined && t.inputFetchEndMs !== undefined) out.push({ from: t.inputFetchStartMs, to: t.inputFetchEndMs, cls: 'seg-fetch' });
  if (t.executionStartMs !== undefined) {
    const end = t.executionEndMs ?? t.uploadStartMs ?? t.completedMs ?? t.executionStartMs;
    if (a.fusion === 'carrier' && t.rmetaMs !== undefined) {
      out.push({ from: t.executionStartMs, to: t.rmetaMs, cls: 'seg-metadata' });
      out.push({ from: t.rmetaMs, to: end, cls: 'seg-rlib' });
    } else out.push({ from: t.executionStartMs, to: end, cls: execClass(a) });
  }
  if (t.uploadStartMs !== undefined && t.uploadEndMs !== undefined) out.push({ from: t.uploadStartMs, to: t.uploadEndMs, cls: 'seg-upload' });
  return out;
}

function execClass(a: ActionBar): string {
  switch (a.kind) {
    case 'rustc-metadata':
      return 'seg-metadata';
    case 'rustc-rlib':
      return 'seg-rlib';
    case 'rustc-bin':
      return 'seg-bin';
    case 'rustc-proc-macro':
      return 'seg-proc-macro';
    default:
      return 'seg-other';
  }
}

function niceStep(spanMs: number, widthPx: number): number {
  const target = (spanMs / widthPx) * 90; // about one tick per 90 px
  for (const s of [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000]) if (s >= target) return s;
  return 1_800_000;
}

export function label(a: ActionBar): string {
  return a.crateName ?? a.mnemonic ?? a.kind;
}

/**
 * The timeline: one row per worker slot, one bar per run. Plain SVG, so that every bar is an element that can be
 * focused, labelled and clicked (and found by tests).
 */
export function Gantt(props: { detail: BuildDetail; width: number; selected?: string; onSelect: (id: string) => void }) {
  const { detail, selected, onSelect } = props;
  const t0 = detail.summary.startedMs;
  const spans = detail.actions.flatMap((a) => [a.timings.uploadEndMs, a.timings.completedMs, a.timings.executionEndMs].filter((x): x is number => x !== undefined));
  const t1 = Math.max(t0 + detail.summary.durationMs, ...spans, t0 + 1);
  const plotW = Math.max(200, props.width - LABEL_W);
  const x = (t: number) => LABEL_W + ((t - t0) / (t1 - t0)) * plotW;
  const critical = new Map(detail.criticalPath.steps.filter((s) => s.actionId).map((s) => [s.actionId!, s.via]));
  const onLanes = detail.actions.filter((a) => a.lane !== undefined);
  const height = AXIS_H + detail.lanes.length * ROW_H + 4;
  const step = niceStep(t1 - t0, plotW);
  const ticks: number[] = [];
  for (let t = 0; t <= t1 - t0; t += step) ticks.push(t);

  return (
    <svg class="gantt" width={props.width} height={height} role="img" aria-label="timeline of the build's actions per worker slot" data-testid="gantt">
      {ticks.map((t) => (
        <g class="tick">
          <line x1={x(t0 + t)} x2={x(t0 + t)} y1={AXIS_H - 4} y2={height} />
          <text x={x(t0 + t) + 2} y={AXIS_H - 8}>
            {ms(t)}
          </text>
        </g>
      ))}
      {detail.lanes.map((l, i) => (
        <g class="lane">
          <rect class={i % 2 ? 'lane-bg odd' : 'lane-bg'} x={0} y={AXIS_H + i * ROW_H} width={props.width} height={ROW_H} />
          <text class="lane-label" x={4} y={AXIS_H + i * ROW_H + ROW_H - 7}>
            {l.worker} #{l.slot + 1}
          </text>
        </g>
      ))}
      {onLanes.map((a) => {
        const y = AXIS_H + a.lane! * ROW_H + 3;
        const h = ROW_H - 6;
        const segs = segments(a);
        const via = critical.get(a.id);
        const exec = segs.filter((s) => s.cls !== 'seg-fetch' && s.cls !== 'seg-upload');
        const outline = via === 'rmeta' && a.fusion === 'carrier' ? exec.filter((s) => s.cls === 'seg-metadata') : exec;
        const from = Math.min(...segs.map((s) => s.from));
        const to = Math.max(...segs.map((s) => s.to));
        const name = label(a);
        const title = `${name} (${a.fusion === 'carrier' ? 'fused metadata + rlib run' : a.kind})${via ? ', on the critical path' : ''}: ${ms((a.timings.executionEndMs ?? to) - (a.timings.executionStartMs ?? from))} executing`;
        return (
          <g
            class={`bar${selected === a.id ? ' selected' : ''}${via ? ' critical' : ''}${a.exitCode ? ' failed' : ''}`}
            data-action={a.id}
            data-crate={a.crateName}
            role="button"
            tabIndex={0}
            aria-label={title}
            onClick={() => onSelect(a.id)}
            onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && onSelect(a.id)}
          >
            <title>{title}</title>
            <rect class="hit" x={x(from)} y={y - 2} width={Math.max(3, x(to) - x(from))} height={h + 4} />
            {segs.map((s) => (
              <rect class={s.cls} x={x(s.from)} y={y} width={Math.max(1, x(s.to) - x(s.from))} height={h} />
            ))}
            {via && outline.length > 0 && (
              <rect class="critical-outline" x={x(outline[0].from) - 1} y={y - 1} width={Math.max(2, x(outline[outline.length - 1].to) - x(outline[0].from) + 2)} height={h + 2} />
            )}
            {x(to) - x(from) > name.length * 6.5 + 6 && (
              <text class="bar-label" x={x(from) + 3} y={y + h - 4}>
                {name}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}
