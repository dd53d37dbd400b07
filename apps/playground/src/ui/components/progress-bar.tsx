import type { Job } from '../api.ts';

const seconds = (s: number) => (s >= 90 ? `${Math.round(s / 60)} min` : `${Math.max(0, Math.round(s))} s`);

/** A job's state as a bar: steps done, loss, throughput and time left. */
export function ProgressBar({ job }: { job?: Job }) {
  if (!job) return <div className="progress empty">no training yet</div>;
  const p = job.progress;
  const fraction = job.state === 'done' ? 1 : p ? p.step / Math.max(1, p.total) : 0;
  return (
    <div className="progress-wrap" data-testid="progress">
      <div className={`progress ${job.state}`}>
        <div className="fill" style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
        <span className="label" data-testid="job-state">
          {job.state}
          {p && job.state === 'running' ? ` — step ${p.step}/${p.total}` : ''}
          {job.state === 'done' && job.version ? ` — stored adapter v${job.version}` : ''}
        </span>
      </div>
      <div className="muted small">
        {p?.loss !== undefined && <>loss {p.loss.toFixed(3)} · </>}
        {p?.tokensPerSecond !== undefined && <>{Math.round(p.tokensPerSecond)} tokens/s · </>}
        {job.state === 'running' && p?.etaSeconds !== undefined && <>about {seconds(p.etaSeconds)} left · </>}
        {job.finalLoss !== undefined && <>final loss {job.finalLoss.toFixed(3)} · </>}
        job {job.id} ({job.mode})
      </div>
      {job.error && job.state !== 'done' && <div className="small muted">{job.error.message}</div>}
    </div>
  );
}
