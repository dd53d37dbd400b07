import { type FormEvent, useEffect, useState } from 'react';
import { api, type EvaluationRun } from '../api.ts';
import type { PageProps } from '../app.tsx';
import { BarChart } from '../components/bar-chart.tsx';

/** Which scores to chart per task kind, and the axis maximum. */
const CHARTED: Record<string, { metrics: string[]; max?: number; lowerIsBetter?: boolean }> = {
  classification: { metrics: ['accuracy', 'f1'], max: 1 },
  generation: { metrics: ['rouge-1', 'rouge-L'], max: 1 },
  regression: { metrics: ['MAE', 'RMSE'], lowerIsBetter: true },
};

export function EvaluationPage({ info, evaluation, setEvaluation, run }: PageProps) {
  const [form, setForm] = useState({
    task: info.defaultTask,
    users: 3,
    items: 12,
    queries: 4,
    steps: 12,
    taskSteps: 12,
    seed: 11,
  });
  const [methods, setMethods] = useState<string[]>(['base', 'rag', 'pag', 'oppu', 'oppu+rag']);
  // biome-ignore lint/correctness/useExhaustiveDependencies: load the latest run once
  useEffect(() => {
    void run(async () => {
      const { runs } = await api<{ runs: EvaluationRun[] }>('/api/evaluations');
      if (runs[0]) setEvaluation(runs[0]);
    });
  }, []);

  const start = (e: FormEvent) => {
    e.preventDefault();
    void run(async () =>
      setEvaluation(
        (await api<{ run: EvaluationRun }>('/api/evaluations', { body: { ...form, methods } })).run,
      ),
    );
  };
  const cancel = () =>
    evaluation && void run(() => api(`/api/evaluations/${evaluation.id}`, { method: 'DELETE' }));
  const num = (key: keyof typeof form) => (
    <label key={key}>
      {key}
      <input
        type="number"
        value={form[key]}
        onChange={(e) => setForm({ ...form, [key]: Number(e.target.value) })}
        data-testid={`eval-${key}`}
      />
    </label>
  );
  const running = evaluation?.state === 'running';
  const task = info.tasks.find((t) => t.id === (evaluation?.request.task ?? form.task));
  const chart = CHARTED[task?.kind ?? 'classification']!;
  const rows = evaluation?.rows ?? [];
  const max =
    chart.max ?? Math.max(1, ...rows.flatMap((r) => chart.metrics.map((m) => Number(r.scores[m]) || 0)));

  return (
    <>
      <section className="card">
        <h2>Evaluation on synthetic LaMP data</h2>
        <p className="muted">
          Draws fresh synthetic users (hidden per-user preferences decide their answers), then runs OPPU's
          pipeline for each method — task adaptation, one adapter per user, inference — and scores the answers
          with LaMP's metrics. Two reference rows bound what is reachable: the oracle answers with each user's
          hidden preferences, the no-user rule with the best answer that ignores the user. Small step budgets
          keep it to minutes on a laptop CPU.
        </p>
        <form className="item-form" onSubmit={start} data-testid="eval-form">
          <label>
            task
            <select value={form.task} onChange={(e) => setForm({ ...form, task: e.target.value })}>
              {info.tasks.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.id}
                </option>
              ))}
            </select>
          </label>
          {num('users')}
          {num('items')}
          {num('queries')}
          {num('steps')}
          {num('taskSteps')}
          {num('seed')}
          <div className="row">
            {info.methods.map((m) => (
              <label key={m} className="check">
                <input
                  type="checkbox"
                  checked={methods.includes(m)}
                  onChange={(e) =>
                    setMethods(e.target.checked ? [...methods, m] : methods.filter((x) => x !== m))
                  }
                />
                {m}
              </label>
            ))}
          </div>
          <button type="submit" disabled={running} data-testid="eval-run">
            Run
          </button>
          <button type="button" className="danger" disabled={!running} onClick={cancel}>
            Cancel
          </button>
        </form>
        {evaluation && (
          <div className="progress-wrap" data-testid="eval-progress">
            <div className={`progress ${evaluation.state}`}>
              <div
                className="fill"
                style={{ width: `${(100 * evaluation.done) / Math.max(1, evaluation.total)}%` }}
              />
              <span className="label">
                run {evaluation.id}: {evaluation.state} — {evaluation.done}/{evaluation.total} methods
                {evaluation.phase ? ` — ${evaluation.phase}` : ''}
              </span>
            </div>
            {evaluation.error && <div className="small muted">{evaluation.error.message}</div>}
          </div>
        )}
      </section>
      {evaluation && rows.length > 0 && (
        <section className="card">
          <h3>
            {evaluation.request.task}: {evaluation.request.users} users × {evaluation.request.queries}{' '}
            questions, {evaluation.request.steps} steps per adapter at learning rate{' '}
            {evaluation.request.learningRate} {chart.lowerIsBetter ? '(lower is better)' : ''}
          </h3>
          <table className="table" data-testid="eval-table">
            <thead>
              <tr>
                <th>method</th>
                {chart.metrics.map((m) => (
                  <th key={m}>{m}</th>
                ))}
                <th>questions</th>
                <th>seconds</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.method}>
                  <td>{r.method}</td>
                  {chart.metrics.map((m) => (
                    <td key={m}>{Number(r.scores[m]).toFixed(3)}</td>
                  ))}
                  <td>{r.scores.count}</td>
                  <td>{r.seconds?.toFixed(1) ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <BarChart
            metrics={chart.metrics}
            max={max}
            bars={rows.map((r) => ({
              label: r.method,
              values: chart.metrics.map((m) => Number(r.scores[m]) || 0),
              reference: r.seconds === undefined,
            }))}
          />
        </section>
      )}
    </>
  );
}
