import { useState } from 'preact/hooks';
import type { BuildDetail } from './api';
import { ms } from './format';

type Row = BuildDetail['bottlenecks'][number];
const SORTS: Record<string, { title: string; key: (r: Row) => number }> = {
  waited: { title: 'dependents waited', key: (r) => r.waitedOnRmetaMs + r.waitedOnRlibMs },
  blocks: { title: 'blocks', key: (r) => r.blocks },
};

export function BottleneckTable({ rows, onPath, onSelect }: { rows: Row[]; onPath: Set<string>; onSelect: (unit: string) => void }) {
  const [sort, setSort] = useState<keyof typeof SORTS>('waited');
  const sorted = [...rows].sort((a, b) => SORTS[sort].key(b) - SORTS[sort].key(a));
  if (rows.length === 0) return <p class="empty">No crate of this build had a dependent in it.</p>;
  return (
    <table class="bottlenecks" data-testid="bottlenecks">
      <thead>
        <tr>
          <th>#</th>
          <th>crate</th>
          <th class="num">
            <button type="button" class={`link${sort === 'waited' ? ' on' : ''}`} onClick={() => setSort('waited')}>
              dependents waited (sum)
            </button>
          </th>
          <th class="num">on .rmeta</th>
          <th class="num">on .rlib</th>
          <th class="num">
            <button type="button" class={`link${sort === 'blocks' ? ' on' : ''}`} onClick={() => setSort('blocks')}>
              blocks
            </button>
          </th>
          <th class="num">direct</th>
          <th class="num">to .rmeta</th>
          <th class="num">compile</th>
          <th>critical path</th>
        </tr>
      </thead>
      <tbody>
        {sorted.map((r, i) => (
          <tr data-crate={r.name} onClick={() => onSelect(r.unit)} class="clickable">
            <td>{i + 1}</td>
            <td title={r.unit}>
              {r.name} <span class={`chip kind-${r.kind}`}>{r.kind.replace('rustc-', '')}</span>
            </td>
            <td class="num">
              <b>{ms(r.waitedOnRmetaMs + r.waitedOnRlibMs)}</b>
            </td>
            <td class="num">{ms(r.waitedOnRmetaMs)}</td>
            <td class="num">{ms(r.waitedOnRlibMs)}</td>
            <td class="num">{r.blocks}</td>
            <td class="num">{r.directDependents}</td>
            <td class="num">{ms(r.rmetaMs)}</td>
            <td class="num">{ms(r.fullMs)}</td>
            <td>{onPath.has(r.unit) ? '●' : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
