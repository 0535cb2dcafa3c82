import { useEffect, useState } from 'preact/hooks';
import { ActionDetail, api } from './api';
import { bytes, ms } from './format';

/** What one action did: command, platform, inputs, and where its time went. */
export function ActionPanel(props: { build: string; actionId: string; onSelect: (id: string) => void; onClose: () => void }) {
  const [a, setA] = useState<ActionDetail>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    setA(undefined);
    api.action(props.build, props.actionId).then(setA, (e: Error) => setError(e.message));
  }, [props.build, props.actionId]);
  return (
    <aside class="action-panel" data-testid="action-panel" aria-label="action details">
      <button type="button" class="close" onClick={props.onClose} aria-label="close">
        ×
      </button>
      {error ? (
        <p class="error">{error}</p>
      ) : !a ? (
        <p>Loading…</p>
      ) : (
        <>
          <h3>
            {a.crateName ?? a.mnemonic ?? a.id} <span class={`chip kind-${a.kind}`}>{a.fusion === 'carrier' ? 'fused run' : a.kind}</span>
          </h3>
          <dl class="timings" data-testid="action-timings">
            <dt>queue wait</dt>
            <dd data-phase="queue">{ms(a.queueWaitMs)}</dd>
            <dt>input fetch</dt>
            <dd data-phase="fetch">{ms(a.inputFetchMs)}</dd>
            <dt>execution</dt>
            <dd data-phase="execution">
              {ms(a.executionMs)}
              {a.rmetaAfterMs !== undefined && ` (.rmeta after ${ms(a.rmetaAfterMs)})`}
            </dd>
            <dt>upload</dt>
            <dd data-phase="upload">{ms(a.uploadMs)}</dd>
            <dt>CPU</dt>
            <dd>{a.cpuSeconds !== undefined ? `${a.cpuSeconds.toFixed(2)} s` : '–'}</dd>
          </dl>
          <dl>
            <dt>mnemonic</dt>
            <dd>{a.mnemonic ?? '–'}</dd>
            <dt>target</dt>
            <dd>{a.targetId ?? '–'}</dd>
            <dt>worker</dt>
            <dd>{a.worker ?? (a.fusion === 'served' ? 'answered by a fused run' : '–')}</dd>
            <dt>exit code</dt>
            <dd>{a.status ?? a.exitCode ?? '–'}</dd>
            <dt>inputs</dt>
            <dd>{a.inputBytes !== undefined ? `${bytes(a.inputBytes)} in ${a.inputFiles} files` : '–'}</dd>
            <dt>platform</dt>
            <dd>{a.platform.length ? a.platform.map((p) => `${p.name}=${p.value}`).join(', ') : '(none)'}</dd>
            <dt>action</dt>
            <dd class="mono">{a.actionDigest || '(internal run: no action of its own)'}</dd>
            {a.partners.length > 0 && (
              <>
                <dt>{a.fusion === 'carrier' ? 'answered' : 'ran as'}</dt>
                <dd>
                  {a.partners.map((p, i) => (
                    <>
                      {i > 0 && ', '}
                      <button type="button" class="link" onClick={() => props.onSelect(p.id)}>
                        {p.mnemonic ?? p.kind}
                      </button>
                    </>
                  ))}
                </dd>
              </>
            )}
          </dl>
          <h4>command</h4>
          <pre class="command" data-testid="action-command">{a.argv.join(' \\\n  ')}</pre>
          <h4>outputs</h4>
          <pre class="command">{a.outputs.join('\n')}</pre>
        </>
      )}
    </aside>
  );
}
