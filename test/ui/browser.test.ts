// The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
// runs table, compare (charts with one series per run, scatter with one point per run, speedup,
// config diff), exports, run tabs (logs, system, precision), live updates, the token prompt, and
// the timings of issue 8 with 200 runs and 2,000,000 points. Screenshots go to test/ui/artifacts/.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as track from '../../src/track/index.js';
import type { Dashboard } from '../../src/ui/index.js';
import { serveDashboard } from '../../src/ui/server.js';
import { ROOT, tempDir } from '../track/helpers.js';
import { bigStore, seedStore } from './fixtures.js';

// What the functions run in the page use of its globals (the tests compile without the DOM lib).
interface PageElement {
  dataset: Record<string, string | undefined>;
  getAttribute(name: string): string | null;
}
declare const document: {
  querySelector(s: string): PageElement | null;
  querySelectorAll(s: string): { length: number };
};
declare const location: { hash: string };

/** Debian's chromium (KEEL_CHROMIUM may name another build). */
const CHROMIUM = process.env.KEEL_CHROMIUM || '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM)
  console.log(`skipping the dashboard's browser tests: ${CHROMIUM} is absent (apt-get install -y chromium)`);

export const ARTIFACTS = join(ROOT, 'test', 'ui', 'artifacts');

describe.skipIf(!HAVE_CHROMIUM)('dashboard in Chromium', () => {
  const tmp = tempDir('keel-ui-browser-');
  const runsDir = join(tmp.dir, 'runs');
  let ids: Record<string, string>;
  let live: track.Run;
  let dash: Dashboard;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    ids = seedStore(runsDir).ids;
    live = track.init({
      project: 'ships',
      name: 'live-run',
      group: 'live',
      runsDir,
      systemInterval: 0,
      captureConsole: false,
      config: { policy: 'mixed_float16', steps_per_epoch: 10 },
    });
    for (let s = 0; s < 20; s++) live.log({ loss: 2 / (1 + s), accuracy: s / 25 }, { step: s });
    live.appendLog('stdout', 'Epoch 1/3');
    live.flush();
    [dash, browser] = await Promise.all([
      serveDashboard({ runsDir, port: 0 }),
      chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }),
    ]);
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  }, 60_000);

  afterAll(async () => {
    await live?.finish();
    await browser?.close();
    await dash?.close();
    tmp.cleanup();
  });

  const shot = (name: string, fullPage = false) =>
    page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });

  it('shows the runs table, with filters', async () => {
    await page.goto(dash.baseUrl);
    await page.waitForSelector('tr[data-id]');
    expect(await page.locator('tbody tr[data-id]').count()).toBe(7);
    const row = page.locator(`tr[data-id="${ids['resnet50-float32']}"]`);
    await expect.poll(() => row.locator('.badge').textContent()).toBe('finished');
    expect(await page.locator(`tr[data-id="${live.id}"] .badge`).textContent()).toBe('running');
    expect(await page.locator('#live').isVisible()).toBe(true);
    const headers = await page.locator('thead th').allTextContents();
    expect(headers.join('|')).toMatch(
      /Name.*Status.*Project.*Group.*Tags.*Started.*Duration.*Policy.*loss.*accuracy.*training_time/,
    );
    await shot('runs-table');
    await page.fill('#run-filter', 'bfloat16');
    expect(await page.locator('tbody tr[data-id]').count()).toBe(1);
    await page.fill('#run-filter', '');
    await page.selectOption('#filter-status', 'failed');
    expect(await page.locator('tbody tr[data-id]').allTextContents()).toEqual([
      expect.stringContaining('smallcnn-float16-noscale'),
    ]);
    await page.selectOption('#filter-status', '');
    await page.selectOption('#filter-group', 'seed-mp');
    expect(await page.locator('tbody tr[data-id]').count()).toBe(4);
    await page.selectOption('#filter-group', '');
    // sorting by a summary column
    await page.click('thead th[data-col="s:training_time"]');
    const first = await page.locator('tbody tr[data-id]').first().getAttribute('data-id');
    expect([ids['resnet50-mixed_float16-nojit'], ids['resnet50-float32']]).toContain(first);
  });

  it('compares two selected runs: charts with two series, a scatter point per run, speedup, config diff', async () => {
    await page.goto(dash.baseUrl);
    await page.waitForSelector('tr[data-id]');
    await page.check(`tr[data-id="${ids['resnet50-float32']}"] input.select`);
    await page.check(`tr[data-id="${ids['resnet50-mixed_float16']}"] input.select`);
    expect(await page.textContent('#compare-btn')).toBe('Compare 2 runs →');
    await page.click('#compare-btn');
    const loss = page.locator('.chart-card[data-key="loss"] .chart-body');
    await expect.poll(() => loss.getAttribute('data-series')).toBe('2');
    expect(await loss.locator('.u-legend .u-series').count()).toBe(3); // x + two runs
    expect(await loss.locator('.u-legend').textContent()).toMatch(/resnet50-float32.*resnet50-mixed_float16/);
    const scatter = page.locator('#scatter .chart-body');
    await expect.poll(() => scatter.getAttribute('data-points')).toBe('2');
    expect(await page.locator('#scatter h3').textContent()).toBe('loss vs training_time');
    expect(await page.locator('#speedup .chart-body').getAttribute('data-bars')).toBe('2');
    expect(await page.locator('#config-diff tr.differs th').allTextContents()).toEqual(
      expect.arrayContaining(['policy', 'loss_scale']),
    );
    await page.waitForSelector('#compare-system .chart-card[data-key="GPU utilisation"]');
    // hovering a scatter point names its run: the mixed_float16 run is at (143 s, 0.118)
    const box = (await scatter.locator('.u-over').boundingBox())!;
    const at = await scatter.evaluate((body) => {
      const u = (body as unknown as { uplot: { valToPos(v: number, s: string): number } }).uplot;
      return { x: u.valToPos(143, 'x'), y: u.valToPos(0.118, 'y') };
    });
    await page.mouse.move(box.x + at.x + 2, box.y + at.y + 1);
    await expect
      .poll(() => scatter.locator('.chart-tip').textContent())
      .toMatch(/resnet50-mixed_float16.*training_time: 2m23s.*loss: 0\.118/);
    await page.mouse.move(0, 0);
    await shot('compare', true);
    await page.screenshot({ path: join(ARTIFACTS, 'compare-top.png') });
  });

  it('compare controls: x-axis, smoothing and log scale redraw the charts', async () => {
    await page.selectOption('#x-axis', 'epoch');
    const batch = page.locator('.chart-card[data-key="batch/loss"] .chart-body');
    await expect.poll(() => batch.locator('.u-legend .u-series').first().textContent()).toMatch(/Epoch/);
    await page.check('#log-scale');
    await page.locator('#smoothing').fill('0.8');
    await page.locator('#smoothing').dispatchEvent('change');
    await expect.poll(() => batch.getAttribute('data-series')).toBe('2');
    await page.selectOption('#x-axis', 'time');
    await page.uncheck('#log-scale');
    await page.locator('#smoothing').fill('0');
    await page.locator('#smoothing').dispatchEvent('change');
    await page.selectOption('#x-axis', 'step');
    expect(errors).toEqual([]);
  });

  it('exports a chart as PNG and its data as CSV', async () => {
    const card = page.locator('.chart-card[data-key="loss"]');
    await card.hover();
    const [png] = await Promise.all([
      page.waitForEvent('download'),
      card.locator('button[data-export="png"]').click(),
    ]);
    expect(png.suggestedFilename()).toBe('loss.png');
    const pngBytes = readFileSync((await png.path())!);
    expect(pngBytes.subarray(1, 4).toString()).toBe('PNG');
    expect(pngBytes.length).toBeGreaterThan(5000);
    await png.saveAs(join(ARTIFACTS, 'export-loss.png'));
    const [csv] = await Promise.all([
      page.waitForEvent('download'),
      card.locator('button[data-export="csv"]').click(),
    ]);
    const text = readFileSync((await csv.path())!, 'utf8')
      .trim()
      .split('\n');
    expect(text[0]).toBe('run_id,run,key,step,value,wall_time');
    expect(text).toHaveLength(11);
    expect(text[1]).toMatch(new RegExp(`^${ids['resnet50-float32']},resnet50-float32,loss,0,0.3619,`));
    const [scatterCsv] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('#scatter button[data-export="csv"]').click(),
    ]);
    expect(readFileSync((await scatterCsv.path())!, 'utf8')).toContain(
      `${ids['resnet50-mixed_float16']},resnet50-mixed_float16,143,0.118`,
    );
  });

  it('run page: overview, charts, system, logs (searchable) and precision', async () => {
    const id = ids['resnet50-mixed_float16'];
    await page.goto(`${dash.baseUrl}#/run/${id}/overview`);
    await page.waitForSelector('.overview-grid');
    const overview = await page.textContent('.overview-grid');
    expect(overview).toContain('keel train --data ships --model resnet50 --policy mixed_float16');
    expect(overview).toContain('3f9c2e1a7b4d');
    expect(overview).toContain('Tesla T4');
    await shot('run-overview');
    await page.click('.tabs a[data-tab="charts"]');
    await expect
      .poll(() =>
        page.locator('.chart-card[data-key="batch/loss_scale"] .chart-body').getAttribute('data-series'),
      )
      .toBe('1');
    await page.click('.tabs a[data-tab="system"]');
    await page.waitForSelector('.chart-card[data-key="GPU memory used"]');
    expect(await page.locator('.chart-card h3').allTextContents()).toEqual(
      expect.arrayContaining(['GPU utilisation', 'CPU', 'Process memory (RSS)']),
    );
    await shot('run-system');
    await page.click('.tabs a[data-tab="logs"]');
    await page.waitForSelector('#log-lines .line');
    const lines = await page.locator('#log-lines .line .text').allTextContents();
    expect(lines).toContain('Epoch 1/5');
    expect(lines).toContain(
      '78/78 [==============================] - 71s 910ms/step - loss: 0.3686 - accuracy: 0.7503 - val_loss: 0.4081 - val_accuracy: 0.7383',
    );
    await page.fill('#log-search', 'epoch 3');
    await expect.poll(() => page.locator('#log-lines .line').count()).toBe(1);
    expect(await page.textContent('#log-count')).toMatch(/^1 of \d+ lines$/);
    await page.fill('#log-search', 'loss:');
    await shot('run-logs');
    await page.click('.tabs a[data-tab="precision"]');
    await page.waitForSelector('#layer-dtypes table');
    const tiles = await page.locator('.tile').allTextContents();
    expect(tiles.join(' ')).toMatch(/mixed_float16.*compute float16.*variables float32/);
    expect(tiles.join(' ')).toMatch(/dynamic.*final scale 16,384/);
    expect(tiles.join(' ')).toMatch(/saves 2\.\d GiB \(\d+%\) vs resnet50-float32/);
    await page.waitForSelector('.chart-card[data-title="Loss scale"] .uplot');
    await shot('run-precision');
    // a run that recorded none of it says so
    await page.goto(`${dash.baseUrl}#/run/${ids['mnist-baseline']}/precision`);
    await page.waitForSelector('#layer-dtypes');
    expect(await page.textContent('#layer-dtypes')).toMatch(/Not recorded/);
    expect(await page.locator('.note-card').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringMatching(/Loss scale: not recorded/)]),
    );
    expect(errors).toEqual([]);
  });

  it('updates a running run without reloading', async () => {
    await page.goto(`${dash.baseUrl}#/run/${live.id}/charts`);
    const loss = page.locator('.chart-card[data-key="loss"] .chart-body');
    await expect.poll(() => loss.getAttribute('data-points')).toBe('20');
    for (let s = 20; s < 35; s++) live.log({ loss: 2 / (1 + s), accuracy: s / 25, lr: 0.1 }, { step: s });
    live.flush();
    await expect.poll(() => loss.getAttribute('data-points'), { timeout: 10_000 }).toBe('35');
    await page.waitForSelector('.chart-card[data-key="lr"] .uplot', { timeout: 10_000 });
  });

  it('asks for the token when the server has one', async () => {
    const guarded = await serveDashboard({ runsDir, port: 0, token: 'let-me-in-please' });
    try {
      const p = await browser.newPage({ viewport: { width: 1200, height: 700 } });
      await p.goto(guarded.baseUrl);
      await p.waitForSelector('#token-form');
      await p.screenshot({ path: join(ARTIFACTS, 'token-prompt.png') });
      await p.fill('#token-input', 'wrong-token-000');
      await p.click('#token-form button');
      await p.waitForSelector('.token-error');
      expect(await p.textContent('.token-error')).toMatch(/wrong access token/);
      await p.fill('#token-input', 'let-me-in-please');
      await p.click('#token-form button');
      await p.waitForSelector('tr[data-id]');
      expect(await p.locator('tbody tr[data-id]').count()).toBe(7);
      // the printed address carries the token and opens without asking
      const q = await browser.newPage();
      await q.goto(guarded.url);
      await q.waitForSelector('tr[data-id]');
      expect(q.url()).not.toContain('token=');
      await Promise.all([p.close(), q.close()]);
    } finally {
      await guarded.close();
    }
  });

  it('is fast: 200 runs and 2,000,000 points, table and a 10-run compare chart each under 1 s', async () => {
    const bigDir = join(tmp.dir, 'big');
    bigStore(bigDir, 200, 2_000_000);
    const big = await serveDashboard({ runsDir: bigDir, port: 0 });
    const tenSeries = (key: string) =>
      document.querySelector(`.chart-card[data-key="${key}"] .chart-body`)?.getAttribute('data-series') ===
      '10';
    try {
      // best of three tries, each in a fresh browser context (a first visit: nothing cached): the
      // suite runs other test files on both cores meanwhile, which alone can push one try past 1 s
      const tries: { table: number; compare: number; direct: number; points: number }[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        const p = await browser.newPage({ viewport: { width: 1440, height: 900 } });
        let t = Date.now();
        await p.goto(big.baseUrl);
        await p.waitForFunction(() => document.querySelectorAll('tbody tr[data-id]').length === 200);
        const table = Date.now() - t;
        const ten = await p
          .locator('tbody tr[data-id]')
          .evaluateAll((rows) => rows.slice(0, 10).map((r) => (r as unknown as PageElement).dataset.id));
        // from the table, as a user clicks Compare
        t = Date.now();
        await p.evaluate((list) => {
          location.hash = `#/compare/${list.join(',')}`;
        }, ten);
        await p.waitForFunction(tenSeries, 'batch/loss');
        const compare = Date.now() - t;
        const points = Number(
          await p.locator('.chart-card[data-key="batch/loss"] .chart-body').getAttribute('data-points'),
        );
        if (attempt === 0) await p.screenshot({ path: join(ARTIFACTS, 'compare-10-runs.png') });
        // opening a compare address directly, in a fresh context
        const q = await browser.newPage({ viewport: { width: 1440, height: 900 } });
        t = Date.now();
        await q.goto(`${big.baseUrl}#/compare/${ten.join(',')}`);
        await q.waitForFunction(tenSeries, 'batch/loss');
        const direct = Date.now() - t;
        await Promise.all([p.close(), q.close()]);
        tries.push({ table, compare, direct, points });
        if (table < 1000 && compare < 1000 && direct < 1000) break;
      }
      const best = (k: 'table' | 'compare' | 'direct') => Math.min(...tries.map((x) => x[k]));
      console.log(
        `dashboard timings, 200 runs / 2,000,000 points (ms, first visit): ${tries.map((x) => `runs table ${x.table}, compare chart of 10 runs ${x.compare} from the table, ${x.direct} opened directly`).join('; then ')} (${tries[0].points} points drawn)`,
      );
      expect(tries[0].points).toBeLessThanOrEqual(10 * 1500);
      expect(best('table')).toBeLessThan(1000);
      expect(best('compare')).toBeLessThan(1000);
      expect(best('direct')).toBeLessThan(1000);
    } finally {
      await big.close();
    }
  });
});
