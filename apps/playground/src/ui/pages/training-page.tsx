import { useEffect, useState } from 'react';
import { api, type Job, userPath } from '../api.ts';
import { type PageProps, PickUser } from '../app.tsx';
import { LossChart } from '../components/loss-chart.tsx';
import { ProgressBar } from '../components/progress-bar.tsx';

export function TrainingPage(props: PageProps) {
  const { user, users, jobs, curves, setCurve, run, select, notify } = props;
  const [mode, setMode] = useState<'incremental' | 'fresh'>('incremental');

  // The curve so far, for a job that started before the page was opened.
  // biome-ignore lint/correctness/useExhaustiveDependencies: fetched once per user
  useEffect(() => {
    if (!user) return;
    void run(async () => {
      const { job } = await api<{ job: Job | null }>(`${userPath(user.id)}/training`);
      if (
        job?.points &&
        (curves[user.id]?.jobId !== job.id || curves[user.id]!.points.length < job.points.length)
      ) {
        setCurve(user.id, { jobId: job.id, points: job.points });
      }
    });
  }, [user?.id]);

  const overview = (
    <section className="card">
      <h3>All training jobs</h3>
      <table className="table small" data-testid="jobs-table">
        <thead>
          <tr>
            <th>user</th>
            <th>state</th>
            <th>progress</th>
            <th>loss</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => {
            const job = jobs[u.id];
            return (
              <tr key={u.id}>
                <td>
                  <button type="button" className="link" onClick={() => select(u.id, 'training')}>
                    {u.id}
                  </button>
                </td>
                <td>{job?.state ?? '—'}</td>
                <td>{job?.progress ? `${job.progress.step}/${job.progress.total}` : ''}</td>
                <td>{job?.progress?.loss?.toFixed(3) ?? job?.finalLoss?.toFixed(3) ?? ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
  if (!user) {
    return (
      <>
        <PickUser users={users} select={select} page="training" />
        {overview}
      </>
    );
  }
  const job = jobs[user.id];
  const active = job?.state === 'queued' || job?.state === 'running';
  const curve = curves[user.id];

  const start = () =>
    void run(async () => {
      const { job } = await api<{ job: Job }>(`${userPath(user.id)}/training`, { body: { mode } });
      setCurve(user.id, { jobId: job.id, points: [] });
      notify(`training of ${user.id} queued`);
    });
  const cancel = () =>
    void run(async () => {
      await api(`${userPath(user.id)}/training`, { method: 'DELETE' });
      notify(`cancelling the training of ${user.id}; the previous adapter is kept`);
    });

  return (
    <>
      <section className="card">
        <h2>
          Training <em>{user.id}</em>'s adapter
        </h2>
        <p className="muted">
          A LoRA adapter is trained on {user.id}'s {user.items} history items only; the base model never
          changes.
          {user.latestVersion
            ? ` The current adapter is v${user.latestVersion}.`
            : ' There is no adapter yet.'}
        </p>
        <div className="row">
          <select
            value={mode}
            onChange={(e) => setMode(e.target.value as 'incremental' | 'fresh')}
            data-testid="train-mode"
          >
            <option value="incremental">incremental (continue from the latest adapter)</option>
            <option value="fresh">fresh (start from a new adapter)</option>
          </select>
          <button type="button" onClick={start} disabled={active || user.items === 0} data-testid="train">
            Train
          </button>
          <button
            type="button"
            className="danger"
            onClick={cancel}
            disabled={!active}
            data-testid="cancel-training"
          >
            Cancel
          </button>
        </div>
        <ProgressBar {...(job ? { job } : {})} />
        <LossChart points={curve && job && curve.jobId === job.id ? curve.points : (curve?.points ?? [])} />
      </section>
      {overview}
    </>
  );
}
