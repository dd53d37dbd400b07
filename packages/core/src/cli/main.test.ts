import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const tsx = createRequire(import.meta.url).resolve('tsx');
const entry = fileURLToPath(new URL('./main.ts', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `oppu ...args` in a child process, from `cwd`, exactly as a user would from source. */
function oppu(cwd: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const env = { ...process.env, npm_lifecycle_event: '', INIT_CWD: '' };
    execFile(process.execPath, ['--import', tsx, entry, ...args], { cwd, env }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oppu-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('oppu CLI (child process, real files)', () => {
  it('synth then score: the oracle scores its measured number, the golds score perfectly', async () => {
    const s = await oppu(
      dir,
      'synth',
      '--task',
      'LaMP_3',
      '--users',
      '6',
      '--items',
      '8',
      '--queries',
      '3',
      '--seed',
      '4',
      '--out',
      'd3',
      '--quiet',
    );
    expect(s.stderr).toBe('');
    expect(s.code).toBe(0);
    const summary = JSON.parse(s.stdout);
    expect(summary).toMatchObject({ task: 'LaMP_3', users: 6, questions: 18 });

    const v = await oppu(dir, 'validate', '--questions', 'd3/questions.json');
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({
      valid: true,
      task: 'LaMP_3',
      taskDetected: true,
      questions: 18,
      users: 6,
    });

    const oracle = await oppu(dir, 'score', '--golds', 'd3/outputs.json', '--preds', 'd3/oracle.json');
    expect(oracle.code).toBe(0);
    expect(oracle.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(oracle.stdout)).toEqual(summary.oracle);

    const self = await oppu(dir, 'score', '--golds', 'd3/outputs.json', '--preds', 'd3/outputs.json');
    expect(JSON.parse(self.stdout)).toEqual({ task: 'LaMP_3', count: 18, MAE: 0, RMSE: 0 });
  });

  it('writes the same files for the same seed', async () => {
    await oppu(
      dir,
      'synth',
      '--task',
      'LaMP_7',
      '--users',
      '2',
      '--items',
      '4',
      '--queries',
      '1',
      '--seed',
      '9',
      '--out',
      'a',
      '-q',
    );
    await oppu(
      dir,
      'synth',
      '--task',
      'LaMP_7',
      '--users',
      '2',
      '--items',
      '4',
      '--queries',
      '1',
      '--seed',
      '9',
      '--out',
      'b',
      '-q',
    );
    expect(await readFile(join(dir, 'b/questions.json'), 'utf8')).toBe(
      await readFile(join(dir, 'a/questions.json'), 'utf8'),
    );
    expect(await readFile(join(dir, 'b/outputs.json'), 'utf8')).toBe(
      await readFile(join(dir, 'a/outputs.json'), 'utf8'),
    );
  });

  it('lists prediction ids that do not match the golds', async () => {
    await writeFile(
      join(dir, 'g.json'),
      JSON.stringify({
        task: 'LaMP_4',
        golds: [
          { id: '1', output: 'a' },
          { id: '2', output: 'b' },
        ],
      }),
    );
    await writeFile(
      join(dir, 'p.json'),
      JSON.stringify({
        task: 'LaMP_4',
        golds: [
          { id: '1', output: 'a' },
          { id: '7', output: 'b' },
        ],
      }),
    );
    const r = await oppu(dir, 'score', '--golds', 'g.json', '--preds', 'p.json');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      'oppu score: p.json does not match g.json: 1 gold id(s) have no prediction: "2"; 1 prediction id(s) are not in the golds: "7"',
    );
  });

  it('reports validation errors with file, item, id and field', async () => {
    await writeFile(
      join(dir, 'bad.json'),
      JSON.stringify([
        {
          id: '310',
          input: 'Generate a headline for the following article: x',
          profile: [{ id: '1', title: 't' }],
        },
      ]),
    );
    const r = await oppu(dir, 'validate', '--questions', 'bad.json', '--task', 'LaMP_4');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('oppu validate: bad.json: item 0 (id "310"): profile[0] has no "text" field');
  });

  it('explains unknown or missing arguments and prints help per command', async () => {
    const unknown = await oppu(dir, 'synth', '--task', 'LaMP_3', '--user', '3');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/oppu synth: Unknown option '--user'/);
    expect(unknown.stderr).toContain('oppu synth --help');

    const missing = await oppu(dir, 'score', '--golds', 'g.json');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('oppu score: missing --preds');

    const badInt = await oppu(
      dir,
      'synth',
      '--task',
      'LaMP_3',
      '--users',
      'many',
      '--items',
      '3',
      '--queries',
      '1',
      '--seed',
      '1',
      '--out',
      'x',
    );
    expect(badInt.code).toBe(2);
    expect(badInt.stderr).toContain('--users must be an integer >= 1 (got "many")');

    const help = await oppu(dir, 'score', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--golds <G.json>');

    const overview = await oppu(dir, '--help');
    expect(overview.stdout).toMatch(/score[\s\S]*synth[\s\S]*validate/);
    expect((await oppu(dir, 'frobnicate')).stderr).toContain('unknown command "frobnicate"');
  });
});
