import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAMP_TASKS, synthesize } from '@oppu/core';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPlayground, startPlayground } from '../start-playground.js';
import { testBaseModelDir } from '../testing.js';

/**
 * The newcomer's story in a real browser (Debian's Chromium driven by playwright-core, no browser download):
 * create a user, add history, train, see the personalized answer differ from the base answer, export the
 * adapter, forget the user. The server is the real playground on the real engine (tiny base model, a short
 * training budget). Screenshots go to apps/playground/test-artifacts/e2e/.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-artifacts', 'e2e');
const haveChromium = existsSync(CHROMIUM);
/** The page must work with an access token (as with --host 0.0.0.0): the story runs with one required. */
const TOKEN = 'e2e-access-token-0123456789';
const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
if (!haveChromium) {
  console.warn(
    `playground e2e: skipped, ${CHROMIUM} is missing (install it with: apt-get install -y chromium)`,
  );
}

describe.skipIf(!haveChromium)('playground in Chromium', () => {
  let home: string;
  let running: RunningPlayground;
  let context: BrowserContext;
  let page: Page;
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  /** Waits until the element with this test id shows text matching `text`. */
  const seeText = (testId: string, text: RegExp, timeout = 15_000) =>
    page.getByTestId(testId).filter({ hasText: text }).first().waitFor({ timeout });

  // One synthetic user: their history becomes the questions file the page imports, their questions are asked.
  const data = synthesize({ task: 'LaMP_2M', users: 1, items: 24, queries: 6, seed: 3 });
  const questions = data.questions.map((q) => LAMP_TASKS.LaMP_2M.parseInput(q.input).description);

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    home = await mkdtemp(join(tmpdir(), 'pg-e2e-'));
    const baseModelDir = await testBaseModelDir(home);
    running = await startPlayground({
      ...(baseModelDir ? { baseModelDir } : {}),
      host: '127.0.0.1',
      port: 0,
      home,
      tasks: ['LaMP_2M'],
      steps: 24,
      learningRate: 0.003,
      demo: false,
      demoUsers: 0,
      demoItems: 0,
      logger: false,
      token: TOKEN,
    });
    // A fresh profile folder per run (playwright passes it as --user-data-dir).
    context = await chromium.launchPersistentContext(join(home, 'chromium-profile'), {
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    page = await context.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  });

  afterAll(async () => {
    await context?.close();
    await running?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('serves the page, and nothing outside its folder', async () => {
    expect((await fetch(`${running.url}/`)).status).toBe(401);
    expect((await fetch(`${running.url}/api/users`)).status).toBe(401);
    const index = await fetch(`${running.url}/`, auth);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<div id="root">');
    for (const path of [
      '/..%2F..%2Fpackage.json',
      '/%2e%2e/%2e%2e/package.json',
      '/assets/..%2F..%2F..%2Fpackage.json',
    ]) {
      const res = await fetch(`${running.url}${path}`, auth);
      expect(res.status, path).toBe(404);
      expect(await res.text(), path).not.toContain('@oppu/playground');
    }
  });

  it('creates a user, trains their adapter, answers differently from the base, exports and forgets', async () => {
    // The printed address carries the token; the page keeps it in a cookie and drops it from the URL.
    expect(running.openUrl).toBe(`${running.url}/?token=${TOKEN}`);
    await page.goto(running.openUrl);
    expect(new URL(page.url()).search).toBe('');
    await page.getByTestId('new-user-id').fill('zoe');
    await page.getByRole('button', { name: 'Create user' }).click();
    await expect.poll(() => page.getByTestId('user-zoe').count()).toBe(1);
    await shot('01-user-created');

    // History: a LaMP questions file (its questions' profile items) and one item typed in.
    const file = join(home, 'zoe-questions.json');
    await writeFile(file, JSON.stringify(data.questions));
    await page.getByTestId('import-questions').setInputFiles(file);
    await seeText('notice', /imported/);
    const firstItem = data.questions[0]!.profile[0]!;
    await page.getByTestId('item-description').fill(`A second look: ${firstItem.description}`);
    await page.getByTestId('item-tag').selectOption(firstItem.tag!);
    await page.getByRole('button', { name: 'Add item' }).click();
    await seeText('notice', /item added/);
    const total = data.questions[0]!.profile.length + 1;
    await expect.poll(() => page.getByTestId('items-table').locator('tbody tr').count()).toBe(total);
    await shot('02-history');

    // Training, with live progress and a loss curve.
    await page.getByTestId('nav-training').click();
    await page.getByTestId('train').click();
    await seeText('job-state', /queued|running|done/);
    await seeText('job-state', /running — step [1-9]|done/, 60_000);
    await shot('03-training');
    await seeText('job-state', /done/, 180_000);
    expect(await page.getByTestId('loss-chart').locator('path.line').count()).toBe(1);
    await shot('04-trained');

    // The same question, answered by base / rag / pag / oppu side by side.
    await page.getByTestId('nav-chat').click();
    let differed: { question: string; base: string; oppu: string } | undefined;
    for (const question of questions) {
      await page.getByTestId('question').fill(question);
      await page.getByTestId('ask').click();
      await seeText('ask', /^Ask$/, 60_000);
      await seeText('answer-oppu', /adapter v1/);
      const base = (await page.getByTestId('answer-text-base').textContent()) ?? '';
      const oppu = (await page.getByTestId('answer-text-oppu').textContent()) ?? '';
      if (base !== oppu) {
        differed = { question, base, oppu };
        break;
      }
    }
    // A label task: under each answer, its labels' probabilities, the chosen label first.
    const answered = (await page.getByTestId('answer-text-oppu').textContent()) ?? '';
    const bars = page.getByTestId('probabilities-oppu').locator(':scope > ul > li');
    expect(await bars.count()).toBe(5);
    expect(await bars.first().getAttribute('data-label')).toBe(answered);
    expect(LAMP_TASKS.LaMP_2M.labels).toContain(answered);
    await shot('05-chat');
    expect(
      differed,
      "the adapter should change the answer to at least one of the user's questions",
    ).toBeDefined();
    await seeText('answer-oppu', /differs from base/);

    // Adapter: versions, export download.
    await page.getByTestId('nav-adapter').click();
    await seeText('version-1', /current/);
    const download = page.waitForEvent('download');
    await page.getByTestId('export').click();
    const zipPath = join(ARTIFACTS, 'zoe-adapters.zip');
    await (await download).saveAs(zipPath);
    const zip = await readFile(zipPath);
    expect(zip.subarray(0, 2).toString('latin1')).toBe('PK');
    await shot('06-adapter');

    // Forget: everything of the user is gone.
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByTestId('forget').click();
    await seeText('notice', /zoe was forgotten/);
    await expect.poll(() => page.getByTestId('user-zoe').count()).toBe(0);
    const res = await fetch(`${running.url}/api/users/zoe/items`, auth);
    expect(res.status).toBe(404);
    expect(await running.playground.backend('LaMP_2M').service.items('zoe' as never)).toEqual([]);
    await shot('07-forgotten');
  }, 300_000);
});
