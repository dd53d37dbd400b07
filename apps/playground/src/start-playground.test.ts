import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPPU_TRAINING, SMALL_BASE_TRAINING } from '@oppu/core';
import { afterAll, describe, expect, it } from 'vitest';
import { parseOptions } from './options.js';
import { playgroundTraining, type RunningPlayground, startPlayground } from './start-playground.js';
import { testBaseModelDir } from './testing.js';

/** `pnpm start -- --host 0.0.0.0` (issue 18): said nothing and answered anyone; now it warns and needs a token. */
describe('startPlayground beyond loopback', () => {
  let home: string | undefined;
  let running: RunningPlayground | undefined;
  afterAll(async () => {
    await running?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('says so, generates a token, and prints the address that carries it', async () => {
    home = await mkdtemp(join(tmpdir(), 'pg-host-'));
    const baseModelDir = await testBaseModelDir(home);
    const lines: string[] = [];
    running = await startPlayground({
      ...(baseModelDir ? { baseModelDir } : {}),
      host: '0.0.0.0',
      port: 0,
      home,
      tasks: ['LaMP_2M'],
      steps: 1,
      taskSteps: 0,
      learningRate: 0.003,
      demo: false,
      demoUsers: 1,
      demoItems: 2,
      logger: false,
      log: (line) => lines.push(line),
    });
    expect(lines.join('\n')).toMatch(
      /listening on 0\.0\.0\.0: other machines can reach this playground, so every request needs the access token/,
    );
    const token = running.token!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(running.openUrl).toBe(`${running.url}/?token=${token}`);
    const network = lines.find((l) => l.startsWith('from another machine: open http://'));
    if (network) expect(network).toContain(`/?token=${token}`);

    const refused = await fetch(`${running.url}/api/users`);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('token_required');
    const opened = await fetch(running.openUrl, { redirect: 'manual' });
    expect(opened.status).toBe(303);
    const cookie = opened.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${running.url}/api/users`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${running.url}/`, { headers: { cookie } })).status).toBe(200);
  }, 120_000);
});

/** The demo users trained 60 steps at lr 0.003, a budget chosen by no one; now the recipe `oppu run` uses. */
describe('playgroundTraining', () => {
  const training = (...argv: string[]) => {
    const options = parseOptions(argv, {});
    if (options === 'help') throw new Error('help');
    return playgroundTraining(options);
  };

  it('trains users as SMALL_BASE_TRAINING on the embedded model, with OPPU_TRAINING on a --base-model', () => {
    expect(training()).toEqual(SMALL_BASE_TRAINING);
    expect(training()).toMatchObject({ learningRate: 0.01, epochs: 4 });
    expect(training()).not.toHaveProperty('maxSteps');
    expect(training('--base-model', '/models/llama')).toEqual(OPPU_TRAINING);
  });

  it('takes --steps and --lr over the recipe', () => {
    expect(training('--steps', '30', '--lr', '0.002')).toEqual({
      ...SMALL_BASE_TRAINING,
      maxSteps: 30,
      learningRate: 0.002,
    });
    expect(training('--base-model', '/m', '--lr', '0.001')).toMatchObject({ learningRate: 0.001, epochs: 2 });
  });
});
