import { useEffect, useRef, useState } from 'preact/hooks';
import { ActionPanel } from './action-panel';
import { api, BuildDetail } from './api';
import { BottleneckTable } from './bottleneck-table';
import { clock, ms, percent, seconds } from './format';
import { Gantt } from './gantt';
import { link } from './router';

/** One build: summary, critical path against wall time, the timeline, the bottleneck crates and the clicked action. */
export function BuildPage({ id, onAuthError }: { id: string; onAuthError: (e: Error) => void }) {
  const [detail, setDetail] = useState<BuildDetail>();
  const [error, setError] = useState<string>();
  const [selected, setSelected] = useState<string>();
  const [zoom, setZoom] = useState(1);
  const [width, setWidth] = useState(1000);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let timer: number | undefined;
    let stopped = false;
    const load = async () => {
      try {
        const d = await api.build(id);
        if (stopped) return;
        setDetail(d);
        // A running build's page follows it until it is finished.
        if (!d.summary.finished) timer = window.setTimeout(load, 2000);
      } catch (e) {
        onAuthError(e as Error);
        setError((e as Error).message);
      }
    };
    void load();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [id]);
  useEffect(() => {
    const measure = () => box.current && setWidth(box.current.clientWidth - 2);
    measure();
    window.addEventListener('resize', measure);
    return () => window.removeEventListener('resize', measure);
  }, [detail !== undefined]);

  if (error) return <p class="error">{error}</p>;
  if (!detail) return <p>Loading…</p>;
  const s = detail.summary;
  const cp = detail.criticalPath;
  const onPath = new Set(cp.steps.map((x) => x.unit));
  return (
    <div class="build-page">
      <p class="crumbs">
        <a href="/" onClick={link('/')}>
          ← all builds
        </a>
      </p>
      <h1 title={s.invocationId}>
        Build {s.invocationId || '(no invocation id)'} {!s.finished && <span class="chip running">running</span>}
      </h1>
      <p class="sub">
        {s.tool ?? 'unknown tool'} · started {clock(s.startedMs)}
        {s.targets.length > 0 && ` · ${s.targets.join(' ')}${s.targetCount > s.targets.length ? ` and ${s.targetCount - s.targets.length} more` : ''}`}
      </p>
      <div class="tiles">
        <div class="tile">
          <b data-testid="wall-time" data-ms={cp.wallMs}>
            {ms(cp.wallMs)}
          </b> wall time
        </div>
        <div class="tile critical-tile">
          <b data-testid="critical-path-length" data-ms={cp.lengthMs}>
            {ms(cp.lengthMs)}
          </b> critical path ({percent(cp.lengthMs, cp.wallMs)} of wall time)
        </div>
        <div class="tile">
          <b>{s.executed}</b> executed · <b>{s.cached}</b> cached · <b>{s.fused}</b> fused pairs
        </div>
        <div class="tile">
          rustc CPU <b>{seconds(s.rustcCpuSpentSeconds)}</b> spent, <b>{seconds(s.rustcCpuSavedSeconds)}</b> saved
        </div>
      </div>

      <h2>Critical path</h2>
      <p class="explain">
        The longest chain of rustc execution time through the crate graph (a dependent starts at its dependency's .rmeta when pipelined, at its end otherwise): the build
        could not be faster than this with any number of workers.
      </p>
      <ol class="critical-path" data-testid="critical-path">
        {cp.steps.map((st) => (
          <li data-unit={st.unit} data-name={st.name} data-ms={st.durationMs}>
            <button type="button" class="link" onClick={() => st.actionId && setSelected(st.actionId)} title={st.unit}>
              {st.name}
            </button>{' '}
            <span class="muted">
              {st.via === 'rmeta' ? 'to .rmeta' : st.via === 'rlib' ? 'whole' : 'to the end'} {ms(st.durationMs)}
            </span>
          </li>
        ))}
      </ol>

      <h2>Timeline</h2>
      <div class="legend">
        <span class="sw seg-metadata" /> metadata (to .rmeta) <span class="sw seg-rlib" /> rlib / rest of a fused run <span class="sw seg-bin" /> binary{' '}
        <span class="sw seg-proc-macro" /> proc-macro <span class="sw seg-other" /> other <span class="sw seg-fetch" /> input fetch <span class="sw seg-upload" /> upload{' '}
        <span class="sw critical-sw" /> critical path
        <span class="zoom">
          zoom{' '}
          {[1, 2, 4, 8].map((z) => (
            <button type="button" class={zoom === z ? 'on' : ''} onClick={() => setZoom(z)}>
              {z}×
            </button>
          ))}
        </span>
      </div>
      <div class="gantt-box" ref={box}>
        <Gantt detail={detail} width={width * zoom} selected={selected} onSelect={setSelected} />
      </div>

      <h2>Bottleneck crates</h2>
      <p class="explain">
        Each dependent waits on the dependency whose output came last; the time from when everything else it needed was there is charged to that crate. "Blocks" counts the
        crates of this build that could not start before it.
      </p>
      <BottleneckTable rows={detail.bottlenecks} onPath={onPath} onSelect={(unit) => {
        const a = detail.actions.find((x) => x.unit === unit && x.fusion !== 'served' && x.kind !== 'rustc-metadata') ?? detail.actions.find((x) => x.unit === unit);
        if (a) setSelected(a.id);
      }} />
      {selected && <ActionPanel build={id} actionId={selected} onSelect={setSelected} onClose={() => setSelected(undefined)} />}
    </div>
  );
}
