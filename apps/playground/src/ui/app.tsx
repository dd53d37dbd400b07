import { useCallback, useEffect, useState } from 'react';
import { api, type EvaluationRun, type Info, type Job, type LossPoint, type UserSummary } from './api.ts';
import { AdapterPage } from './pages/adapter-page.tsx';
import { ChatPage } from './pages/chat-page.tsx';
import { EvaluationPage } from './pages/evaluation-page.tsx';
import { TrainingPage } from './pages/training-page.tsx';
import { UsersPage } from './pages/users-page.tsx';
import { useEvents } from './use-events.ts';
import { PAGES, type Page, routeHref, useHashRoute } from './use-hash-route.ts';

const TITLES: Record<Page, string> = {
  users: 'Users',
  training: 'Training',
  chat: 'Chat',
  adapter: 'Adapter',
  evaluation: 'Evaluation',
};

/** Live loss curve of a user's latest job. */
export interface Curve {
  jobId: number;
  points: LossPoint[];
}

/** What every page gets: the server's info, users, live jobs, and ways to report errors and refresh. */
export interface PageProps {
  info: Info;
  users: UserSummary[];
  user?: UserSummary;
  jobs: Record<string, Job>;
  curves: Record<string, Curve>;
  setCurve: (user: string, curve: Curve) => void;
  evaluation?: EvaluationRun;
  setEvaluation: (run: EvaluationRun | undefined) => void;
  refresh: () => Promise<void>;
  select: (user: string | undefined, page?: Page) => void;
  run: (work: () => Promise<unknown>) => Promise<boolean>;
  notify: (message: string) => void;
}

export function App() {
  const [route, navigate] = useHashRoute();
  const [info, setInfo] = useState<Info>();
  const [users, setUsers] = useState<UserSummary[]>([]);
  const [jobs, setJobs] = useState<Record<string, Job>>({});
  const [curves, setCurves] = useState<Record<string, Curve>>({});
  const [evaluation, setEvaluation] = useState<EvaluationRun>();
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();

  const refresh = useCallback(async () => {
    const { users } = await api<{ users: UserSummary[] }>('/api/users');
    setUsers(users);
    setJobs((old) => {
      const next = { ...old };
      for (const u of users) if (u.training) next[u.id] = u.training;
      return next;
    });
  }, []);

  useEffect(() => {
    api<Info>('/api/info').then(setInfo, (e: Error) => setError(e.message));
    refresh().catch((e: Error) => setError(e.message));
  }, [refresh]);

  useEvents({
    onJob: (job) => {
      setJobs((old) => ({ ...old, [job.user]: job }));
      if (job.state !== 'running') void refresh().catch(() => {});
    },
    onProgress: (user, jobId, point) => {
      if (point.loss === undefined) return;
      setCurves((old) => {
        const curve = old[user]?.jobId === jobId ? old[user]! : { jobId, points: [] };
        return { ...old, [user]: { jobId, points: [...curve.points, point] } };
      });
      setJobs((old) =>
        old[user] ? { ...old, [user]: { ...old[user]!, state: 'running', progress: point } } : old,
      );
    },
    onUsers: () => void refresh().catch(() => {}),
    onEvaluation: (run) => setEvaluation((old) => (!old || old.id <= run.id ? run : old)),
  });

  const run = useCallback(async (work: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await work();
      return true;
    } catch (e) {
      setError((e as Error).message);
      return false;
    }
  }, []);

  const notify = useCallback((message: string) => {
    setNotice(message);
    window.setTimeout(() => setNotice((m) => (m === message ? undefined : m)), 4000);
  }, []);

  const select = (user: string | undefined, page: Page = route.page) =>
    navigate(user ? { page, user } : { page });
  const user = users.find((u) => u.id === route.user);

  if (!info) {
    return <div className="loading">{error ? <p className="error">{error}</p> : 'Loading…'}</div>;
  }
  const props: PageProps = {
    info,
    users,
    ...(user ? { user } : {}),
    jobs,
    curves,
    setCurve: (id, curve) => setCurves((old) => ({ ...old, [id]: curve })),
    ...(evaluation ? { evaluation } : {}),
    setEvaluation,
    refresh,
    select,
    run,
    notify,
  };

  return (
    <div className="app">
      <header>
        <div className="brand">
          <strong>oppu</strong> playground <span className="muted">— one PEFT per user</span>
        </div>
        <nav>
          {PAGES.map((page) => (
            <a
              key={page}
              href={routeHref(route.user ? { page, user: route.user } : { page })}
              className={route.page === page ? 'active' : ''}
              data-testid={`nav-${page}`}
            >
              {TITLES[page]}
            </a>
          ))}
        </nav>
        <div className="model muted" title="the base model every adapter is trained on">
          base: {info.baseModel.name} ({(info.baseModel.parameters / 1e6).toFixed(2)} M params)
        </div>
      </header>
      <div className="layout">
        <aside>
          <h3>Users</h3>
          <ul className="user-list" data-testid="user-list">
            {users.map((u) => {
              const job = jobs[u.id];
              return (
                <li key={u.id}>
                  <a
                    href={routeHref({ page: route.page, user: u.id })}
                    className={u.id === route.user ? 'active' : ''}
                    data-testid={`user-${u.id}`}
                  >
                    <span className="user-id">{u.id}</span>
                    <span className="badges">
                      <span className="badge">{u.task}</span>
                      {job && (job.state === 'running' || job.state === 'queued') ? (
                        <span className={`badge ${job.state}`}>
                          {job.state === 'running' && job.progress
                            ? `${Math.round((100 * job.progress.step) / Math.max(1, job.progress.total))}%`
                            : job.state}
                        </span>
                      ) : u.latestVersion ? (
                        <span className="badge ok">v{u.latestVersion}</span>
                      ) : (
                        <span className="badge">no adapter</span>
                      )}
                    </span>
                  </a>
                </li>
              );
            })}
          </ul>
          {users.length === 0 && <p className="muted">No users yet.</p>}
        </aside>
        <main>
          {error && (
            <div className="error" role="alert" data-testid="error">
              {error}
              <button type="button" className="link" onClick={() => setError(undefined)}>
                dismiss
              </button>
            </div>
          )}
          {notice && (
            <div className="notice" data-testid="notice">
              {notice}
            </div>
          )}
          {route.page === 'users' && <UsersPage {...props} />}
          {route.page === 'training' && <TrainingPage {...props} />}
          {route.page === 'chat' && <ChatPage {...props} />}
          {route.page === 'adapter' && <AdapterPage {...props} />}
          {route.page === 'evaluation' && <EvaluationPage {...props} />}
        </main>
      </div>
    </div>
  );
}

/** Shown by per-user pages when no user is selected. */
export function PickUser({
  users,
  select,
  page,
}: {
  users: UserSummary[];
  select: PageProps['select'];
  page: Page;
}) {
  return (
    <section className="card">
      <p>Pick a user on the left{users.length === 0 ? ', or create one on the Users page' : ''}.</p>
      {users.length > 0 && (
        <div className="row">
          {users.map((u) => (
            <button type="button" key={u.id} onClick={() => select(u.id, page)}>
              {u.id}
            </button>
          ))}
        </div>
      )}
    </section>
  );
}
