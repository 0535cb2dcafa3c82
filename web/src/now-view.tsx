import { useEffect, useState } from 'preact/hooks';
import { buildPath, NowSnapshot, watchNow } from './api';
import { ms, shortId } from './format';
import { link } from './router';

/** The scheduler's action classes, in the order they unblock others. */
const CLASSES = ['rust-metadata', 'rust-rlib', 'rust-bin', 'other'];

/** Queue depth by class, workers and their busy slots, running actions with their elapsed time; updated live. */
export function NowView({ onAuthError }: { onAuthError: (e: Error) => void }) {
  const [now, setNow] = useState<NowSnapshot>();
  const [offset, setOffset] = useState(0);
  const [, tick] = useState(0);
  useEffect(
    () =>
      watchNow((s) => {
        setNow(s);
        setOffset(s.serverTimeMs - Date.now());
      }, onAuthError),
    [],
  );
  useEffect(() => {
    const t = window.setInterval(() => tick((n) => n + 1), 500);
    return () => window.clearInterval(t);
  }, []);
  if (!now) return <section class="now">Connecting…</section>;
  const serverNow = Date.now() + offset;
  const queued = Object.values(now.queued).reduce((a, b) => a + b, 0);
  const busy = now.workers.reduce((a, w) => a + w.busy, 0);
  const slots = now.workers.reduce((a, w) => a + w.slots, 0);
  const classes = [...CLASSES, ...Object.keys(now.queued).filter((c) => !CLASSES.includes(c))];
  return (
    <section class="now">
      <h2>Now</h2>
      <div class="tiles">
        <div class="tile">
          <b data-testid="running-count">{now.running.length}</b> running
        </div>
        <div class="tile">
          <b data-testid="queued-count">{queued}</b> queued
          <span class="classes">
            {classes.map((c) => (
              <span class={`chip kind-${c.replace('rust-', 'rustc-')}`} title={`queued ${c} actions`}>
                {c.replace('rust-', '')} {now.queued[c] ?? 0}
              </span>
            ))}
          </span>
        </div>
        <div class="tile">
          <b>
            {busy}/{slots}
          </b>{' '}
          slots busy on {now.workers.length} worker{now.workers.length === 1 ? '' : 's'}
        </div>
      </div>
      <div class="workers">
        {now.workers.map((w) => (
          <div class="worker" title={`${w.busy} of ${w.slots} slots busy`}>
            <span class="name">{w.name}</span>
            <span class="slots">
              {Array.from({ length: w.slots }, (_, i) => (
                <span class={i < w.busy ? 'slot busy' : 'slot'} />
              ))}
            </span>
          </div>
        ))}
      </div>
      {now.running.length > 0 && (
        <table class="running">
          <thead>
            <tr>
              <th>action</th>
              <th>kind</th>
              <th>worker</th>
              <th>build</th>
              <th class="num">running for</th>
              <th class="num">waited in queue</th>
            </tr>
          </thead>
          <tbody>
            {[...now.running]
              .sort((a, b) => a.startedMs - b.startedMs)
              .map((r) => (
                <tr>
                  <td>{r.crateName ?? r.mnemonic ?? r.id}</td>
                  <td>
                    <span class={`chip kind-${r.kind}`}>{r.fused ? 'fused rustc' : r.kind}</span>
                  </td>
                  <td>{r.worker ?? '–'}</td>
                  <td>
                    <a href={buildPath(r.invocationId)} onClick={link(buildPath(r.invocationId))}>
                      {shortId(r.invocationId)}
                    </a>
                  </td>
                  <td class="num">{ms(serverNow - r.startedMs)}</td>
                  <td class="num">{ms(r.startedMs - r.queuedMs)}</td>
                </tr>
              ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
