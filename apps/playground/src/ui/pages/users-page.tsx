import { type FormEvent, useEffect, useState } from 'react';
import { api, type HistoryItem, userPath } from '../api.ts';
import type { PageProps } from '../app.tsx';

export function UsersPage(props: PageProps) {
  const { info, users, user, run, refresh, select, notify } = props;
  const [id, setId] = useState('');
  const [task, setTask] = useState(info.defaultTask);

  const create = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      await api(`/api/users`, { body: { id, task } });
      await refresh();
      notify(`user ${id} created`);
      select(id, 'users');
      setId('');
    });
  };

  const remove = (target: string) => {
    if (!window.confirm(`Delete user ${target} and everything of theirs (history, profile, adapters)?`))
      return;
    void run(async () => {
      await api(userPath(target), { method: 'DELETE' });
      await refresh();
      if (user?.id === target) select(undefined, 'users');
      notify(`user ${target} deleted`);
    });
  };

  return (
    <>
      <section className="card">
        <h2>Users</h2>
        <p className="muted">
          Each user has their own history, profile and LoRA adapter. Demo users have synthetic histories drawn
          from hidden preferences, so the same movie is tagged differently by different users.
        </p>
        <form className="row" onSubmit={create} data-testid="create-user">
          <input
            placeholder="new user id (A-Z a-z 0-9 _ -)"
            value={id}
            onChange={(e) => setId(e.target.value)}
            data-testid="new-user-id"
            required
          />
          <select value={task} onChange={(e) => setTask(e.target.value)} data-testid="new-user-task">
            {info.tasks.map((t) => (
              <option key={t.id} value={t.id}>
                {t.id} ({t.name})
              </option>
            ))}
          </select>
          <button type="submit">Create user</button>
        </form>
        <table className="table" data-testid="users-table">
          <thead>
            <tr>
              <th>user</th>
              <th>task</th>
              <th>items</th>
              <th>adapter</th>
              <th>preferences (demo users)</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id} className={u.id === user?.id ? 'selected' : ''}>
                <td>
                  <button type="button" className="link" onClick={() => select(u.id, 'users')}>
                    {u.id}
                  </button>
                </td>
                <td>{u.task}</td>
                <td>{u.items}</td>
                <td>{u.latestVersion ? `v${u.latestVersion} (${u.versions} kept)` : '—'}</td>
                <td className="muted small">{u.demo?.description ?? ''}</td>
                <td>
                  <button type="button" className="danger small" onClick={() => remove(u.id)}>
                    delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {user && <History {...props} key={user.id} />}
    </>
  );
}

function History({ info, user, run, refresh, notify }: PageProps) {
  const task = info.tasks.find((t) => t.id === user!.task)!;
  const [items, setItems] = useState<HistoryItem[]>([]);
  const [draft, setDraft] = useState<Record<string, string>>({});
  const load = async () =>
    setItems((await api<{ items: HistoryItem[] }>(`${userPath(user!.id)}/items`)).items);

  // biome-ignore lint/correctness/useExhaustiveDependencies: reload when the user or their item count changes
  useEffect(() => {
    void run(load);
  }, [user!.id, user!.items]);

  const add = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const item = { ...draft, date: new Date().toISOString().slice(0, 10) };
      const res = await api<{ total: number }>(`${userPath(user!.id)}/items`, { body: { items: [item] } });
      setDraft({});
      await refresh();
      await load();
      notify(`item added; ${user!.id} has ${res.total} items`);
    });
  };

  const importFile = (file: File) =>
    void run(async () => {
      let body: unknown;
      try {
        body = JSON.parse(await file.text());
      } catch (e) {
        throw new Error(`${file.name} is not JSON: ${(e as Error).message}`);
      }
      const res = await api<{ questions: number; added: number; total: number }>(
        `${userPath(user!.id)}/questions`,
        {
          body,
        },
      );
      await refresh();
      await load();
      notify(
        `imported ${res.added} history items from ${res.questions} questions; ${user!.id} has ${res.total} items`,
      );
    });

  const removeItem = (itemId: string) =>
    void run(async () => {
      await api(`${userPath(user!.id)}/items`, { method: 'DELETE', body: { ids: [itemId] } });
      await refresh();
      await load();
    });

  return (
    <section className="card" data-testid="history">
      <h2>
        History of <em>{user!.id}</em> <span className="muted">({items.length} items)</span>
      </h2>
      <form className="item-form" onSubmit={add} data-testid="add-item">
        {task.itemFields.map((field) =>
          task.labels.length > 0 && field !== 'description' && field !== 'text' ? (
            <label key={field}>
              {field}
              <select
                value={draft[field] ?? ''}
                onChange={(e) => setDraft({ ...draft, [field]: e.target.value })}
                data-testid={`item-${field}`}
                required
              >
                <option value="" disabled>
                  choose…
                </option>
                {task.labels.map((l) => (
                  <option key={l} value={l}>
                    {l}
                  </option>
                ))}
              </select>
            </label>
          ) : (
            <label key={field} className="grow">
              {field}
              <textarea
                rows={2}
                value={draft[field] ?? ''}
                onChange={(e) => setDraft({ ...draft, [field]: e.target.value })}
                data-testid={`item-${field}`}
                required
              />
            </label>
          ),
        )}
        <button type="submit">Add item</button>
      </form>
      <div className="row">
        <label className="file">
          Import a LaMP questions file (JSON, {task.id}): the history items of its questions are added
          <input
            type="file"
            accept=".json,application/json"
            data-testid="import-questions"
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) importFile(file);
              e.target.value = '';
            }}
          />
        </label>
      </div>
      <div className="scroll">
        <table className="table small" data-testid="items-table">
          <thead>
            <tr>
              <th>id</th>
              <th>date</th>
              {task.itemFields.map((f) => (
                <th key={f}>{f}</th>
              ))}
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((it) => (
              <tr key={it.id}>
                <td className="mono">{it.id}</td>
                <td className="mono">{it.date ?? ''}</td>
                {task.itemFields.map((f) => (
                  <td key={f} className={f === 'tag' ? 'tag' : 'text'}>
                    {it[f]}
                  </td>
                ))}
                <td>
                  <button type="button" className="link" onClick={() => removeItem(it.id)}>
                    remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
