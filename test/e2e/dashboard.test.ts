import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { BuildRecord } from '../../src/dashboard/build-record';
import type { BuildDetail } from '../../src/dashboard/dashboard-api';
import { longestPathByEnumeration } from '../dashboard/critical-path-oracle';
import { Browser, launchChromium } from '../helpers/browser';
import { acquireBazelLock, BazelWorkspace, buildFlags, runBazel, ServerProcess, startServerProcess } from './bazel-harness';
import { makeRustExampleWorkspace, REPO } from './rust-example';

/** Screenshots for people to look at (git-ignored). */
const SHOTS = path.join(REPO, 'test-screenshots', 'dashboard');

/**
 * The dashboard in Chromium against a real server while and after a real Bazel build of the Rust example: the Now view
 * follows the build live, the builds list shows it, its page (opened from the URL the server logs) shows the timeline,
 * the critical path and the bottleneck crates, and a click on an action shows its timings.
 */
describe('build dashboard in a browser, around a real Bazel build of the Rust example', () => {
  let release: (() => Promise<void>) | undefined;
  let server: ServerProcess;
  let ws: BazelWorkspace | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let dataDir: string;
  let base: string;
  let buildUrl: string;
  let invocation: string;

  before(async () => {
    release = await acquireBazelLock();
    dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-dashboard-'));
    await fsp.mkdir(SHOTS, { recursive: true });
    server = await startServerProcess({ args: ['--data', dataDir, '--workers', '2', '--http', '127.0.0.1:0'] });
    base = `http://${(await logRecord(server, (r) => r.msg === 'ready')).http as string}`;
    ws = await makeRustExampleWorkspace();
    browser = await launchChromium();
    page = await browser.context.newPage();
  });

  after(async () => {
    await browser?.close();
    await ws?.cleanup();
    await server?.stop();
    await fsp.rm(dataDir, { recursive: true, force: true });
    await release?.();
  });

  it('Now: the running-actions count follows the build without a reload', async () => {
    await page.goto(`${base}/`);
    await page.waitForSelector('[data-testid=running-count]');
    // Record every value the count shows; the marker would vanish if the page reloaded.
    await page.evaluate(`(() => {
      window.notReloaded = true;
      const count = () => document.querySelector('[data-testid=running-count]')?.textContent;
      window.seen = [count()];
      new MutationObserver(() => {
        const v = count();
        if (v && v !== window.seen.at(-1)) window.seen.push(v);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    })()`);
    await runBazel(ws!, ['build', ...buildFlags({ remoteExecutor: server.port }), '--jobs=32', '--remote_download_toplevel', '//...'], { timeoutMs: 600_000 });
    const finished = await logRecord(server, (r) => typeof r.url === 'string' && /finished: http/.test(String(r.msg)) && (r.actions as number) > 1, 30_000);
    [buildUrl, invocation] = [finished.url as string, finished.invocation as string];
    await page.waitForFunction(`document.querySelector('[data-testid=running-count]')?.textContent === '0'`);
    const { seen, notReloaded } = (await page.evaluate('({ seen: window.seen, notReloaded: window.notReloaded })')) as { seen: string[]; notReloaded: boolean };
    assert.equal(notReloaded, true);
    const counts = seen.map(Number);
    assert.ok(counts.some((n) => n > 0), `the count showed running actions: ${seen.join(' → ')}`);
    assert.ok(counts.length >= 3, `it changed during the build: ${seen.join(' → ')}`);
    await page.screenshot({ path: path.join(SHOTS, 'now.png') });
  });

  it('Builds: lists the build by its invocation id with its action counts and rustc CPU', async () => {
    await page.goto(`${base}/`);
    const row = page.locator(`tr[data-invocation="${invocation}"]`);
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    assert.match(cells[0], /bazel/);
    assert.equal(cells[3], '31', 'executed: 14 metadata + 14 rlib + process wrapper + 2 binaries');
    assert.equal(cells[5], '14', 'fused pairs');
    assert.match(cells[6], /^\d+\.\d s$/);
    await page.screenshot({ path: path.join(SHOTS, 'builds.png'), fullPage: true });
  });

  it('One build (from the URL in the log): timeline, critical path equal to the recorded timings’, bottleneck crates by name', async () => {
    assert.equal(buildUrl, `${base}/builds/${invocation}`);
    await page.goto(buildUrl);
    await page.waitForSelector('[data-testid=gantt] .bar');
    const detail = (await (await fetch(`${base}/api/builds/${invocation}`)).json()) as BuildDetail;
    const record = (await (await fetch(`${base}/api/builds/${invocation}/record`)).json()) as BuildRecord;

    // Timeline: one bar per run on a worker (14 fused runs, the process wrapper, 2 binaries), one row per slot.
    assert.equal(await page.locator('[data-testid=gantt] .bar').count(), 17);
    assert.equal(await page.locator('[data-testid=gantt] .lane').count(), 2);
    assert.ok((await page.locator('[data-testid=gantt] .bar rect.seg-metadata').count()) >= 14, 'metadata phases drawn');
    assert.ok((await page.locator('[data-testid=gantt] .bar rect.seg-rlib').count()) >= 14, 'rlib phases drawn apart');

    // The critical path on the page is the longest path through the recorded timings.
    const oracle = longestPathByEnumeration(record.actions);
    const shownMs = Number(await page.getAttribute('[data-testid=critical-path-length]', 'data-ms'));
    assert.equal(shownMs, oracle.lengthMs);
    const names = await page.locator('[data-testid=critical-path] li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-name')));
    assert.deepEqual(names, oracle.names);
    assert.equal(names[0], 'process_wrapper');
    assert.ok(shownMs < Number(await page.getAttribute('[data-testid=wall-time]', 'data-ms')));
    assert.equal(await page.locator('[data-testid=gantt] .bar.critical').count(), new Set(detail.criticalPath.steps.map((s) => s.actionId)).size);

    // Bottleneck crates with their real names.
    const crates = await page.locator('[data-testid=bottlenecks] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-crate')));
    for (const c of ['process_wrapper', 'regex', 'regex_syntax', 'memchr', 'serde', 'aho_corasick', 'wordfreq', 'textreport']) assert.ok(crates.includes(c), `${c} in ${crates.join(', ')}`);
    assert.equal(crates[0], detail.bottlenecks[0].name);
    await page.screenshot({ path: path.join(SHOTS, 'build.png'), fullPage: true });
  });

  it('a click on an action shows its command, platform, inputs and where its time went', async () => {
    await page.click('[data-testid=gantt] .bar[data-crate="regex"]');
    const panel = page.locator('[data-testid=action-panel]');
    await panel.locator('[data-testid=action-timings]').waitFor();
    const phase = (p: string) => panel.locator(`dd[data-phase=${p}]`).textContent();
    for (const p of ['queue', 'fetch', 'execution', 'upload']) assert.match((await phase(p))!, /\d+(\.\d+)? (ms|s)/, `${p} time shown`);
    assert.match((await phase('execution'))!, /\(\.rmeta after \d/, 'a fused run shows when its .rmeta came');
    assert.match((await panel.locator('[data-testid=action-command]').textContent())!, /rustc/);
    assert.match((await panel.textContent())!, /inputs\s*[\d.]+ (MiB|KiB|B) in \d+ files/);
    await page.screenshot({ path: path.join(SHOTS, 'action.png') });
  });
});

/** The first server log record matching `pred`, waiting for it up to `timeoutMs`. */
async function logRecord(server: ServerProcess, pred: (r: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = server.logRecords().find(pred);
    if (r) return r;
    if (Date.now() > deadline) throw new Error(`no such log record within ${timeoutMs} ms:\n${server.logs().slice(-3000)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}
