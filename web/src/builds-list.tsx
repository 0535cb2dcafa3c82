import { useEffect, useState } from 'preact/hooks';
import { api, buildPath, BuildSummary } from './api';
import { clock, ms, seconds, shortId } from './format';
import { link } from './router';

/** Recent builds, newest first; refreshed every few seconds (a build's row grows while it runs). */
export function BuildsList({ onAuthError }: { onAuthError: (e: Error) => void }) {
  const [builds, setBuilds] = useState<BuildSummary[]>();
  useEffect(() => {
    let timer: number | undefined;
    let stopped = false;
    const load = async () => {
      try {
        const b = await api.builds();
        if (!stopped) setBuilds(b);
      } catch (e) {
        onAuthError(e as Error);
      }
      if (!stopped) timer = window.setTimeout(load, 3000);
    };
    void load();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, []);
  return (
    <section class="builds">
      <h2>Builds</h2>
      {!builds ? (
        'Loading…'
      ) : builds.length === 0 ? (
        <p class="empty">No builds yet. Point Bazel at this server with --remote_executor.</p>
      ) : (
        <table data-testid="builds-table">
          <thead>
            <tr>
              <th>build</th>
              <th>started</th>
              <th class="num">duration</th>
              <th class="num">executed</th>
              <th class="num">cached</th>
              <th class="num">fused pairs</th>
              <th class="num">rustc CPU spent</th>
              <th class="num">saved</th>
            </tr>
          </thead>
          <tbody>
            {builds.map((b) => (
              <tr data-invocation={b.invocationId}>
                <td>
                  <a href={buildPath(b.invocationId)} onClick={link(buildPath(b.invocationId))} title={b.invocationId}>
                    {shortId(b.invocationId)}
                  </a>{' '}
                  {!b.finished && <span class="chip running">running {b.running}</span>}
                  <div class="sub">
                    {b.tool ?? 'unknown tool'}
                    {b.targets.length > 0 && ` · ${b.targets.join(' ')}${b.targetCount > b.targets.length ? ` +${b.targetCount - b.targets.length}` : ''}`}
                  </div>
                </td>
                <td>{clock(b.startedMs)}</td>
                <td class="num">{ms(b.durationMs)}</td>
                <td class="num">{b.executed}</td>
                <td class="num">{b.cached}</td>
                <td class="num">{b.fused}</td>
                <td class="num">{seconds(b.rustcCpuSpentSeconds)}</td>
                <td class="num">{seconds(b.rustcCpuSavedSeconds)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
