import { useEffect, useState } from 'react';
import { type AdapterVersion, api, userPath } from '../api.ts';
import { type PageProps, PickUser } from '../app.tsx';

const kib = (bytes: number) =>
  bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;

export function AdapterPage(props: PageProps) {
  const { user, users, run, refresh, select, notify } = props;
  const [versions, setVersions] = useState<AdapterVersion[]>([]);
  const load = async () => {
    if (user)
      setVersions((await api<{ versions: AdapterVersion[] }>(`${userPath(user.id)}/adapters`)).versions);
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload when the user or their latest version changes
  useEffect(() => {
    void run(load);
  }, [user?.id, user?.latestVersion]);
  if (!user) return <PickUser users={users} select={select} page="adapter" />;

  const rollback = (version: number) =>
    void run(async () => {
      const res = await api<{ version: AdapterVersion }>(`${userPath(user.id)}/adapters/rollback`, {
        body: { version },
      });
      await refresh();
      await load();
      notify(`v${version} is current again (stored as v${res.version.version})`);
    });
  const importFile = (file: File) =>
    void run(async () => {
      const res = await api<{ versions: AdapterVersion[] }>(`${userPath(user.id)}/adapters/import`, {
        raw: file,
      });
      await refresh();
      await load();
      notify(`imported ${res.versions.length} adapter version(s) from ${file.name}`);
    });
  const forget = () => {
    if (
      !window.confirm(
        `Forget ${user.id}? Every adapter version, history item and profile of theirs is deleted.`,
      )
    )
      return;
    void run(async () => {
      await api(userPath(user.id), { method: 'DELETE' });
      await refresh();
      select(undefined, 'users');
      notify(`${user.id} was forgotten: nothing of theirs is left`);
    });
  };
  const latest = versions[versions.length - 1];

  return (
    <>
      <section className="card">
        <h2>
          <em>{user.id}</em>'s adapter
        </h2>
        <p className="muted">
          Every training stores a new version in HF PEFT layout (adapter_config.json +
          adapter_model.safetensors); older versions are kept for roll-back.
        </p>
        <table className="table" data-testid="versions-table">
          <thead>
            <tr>
              <th>version</th>
              <th>created</th>
              <th>from</th>
              <th>method</th>
              <th>steps</th>
              <th>final loss</th>
              <th>items</th>
              <th>parameters</th>
              <th>size</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {[...versions].reverse().map((v) => (
              <tr key={v.version} data-testid={`version-${v.version}`}>
                <td>
                  v{v.version} {v === latest && <span className="badge ok">current</span>}
                </td>
                <td className="small">{new Date(v.createdAt).toLocaleString()}</td>
                <td>{v.parent ? `v${v.parent}` : '—'}</td>
                <td className="small">
                  {v.peft.method}
                  {v.peft.r ? ` r=${v.peft.r}` : ''}
                  {v.peft.targetModules ? ` on ${v.peft.targetModules.join(', ')}` : ''}
                </td>
                <td>{v.training?.steps ?? ''}</td>
                <td>{v.training?.finalLoss?.toFixed(3) ?? ''}</td>
                <td>{v.training?.items ?? ''}</td>
                <td>{v.parameters?.toLocaleString() ?? ''}</td>
                <td>{v.bytes !== undefined ? kib(v.bytes) : ''}</td>
                <td>
                  {v !== latest && (
                    <button type="button" className="small" onClick={() => rollback(v.version)}>
                      roll back to v{v.version}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {versions.length === 0 && <p className="muted">No adapter yet: train one on the Training page.</p>}
        <div className="row">
          {versions.length > 0 ? (
            <a
              className="button"
              href={`${userPath(user.id)}/adapters/export`}
              download={`${user.id}-adapters.zip`}
              data-testid="export"
            >
              Export (zip)
            </a>
          ) : (
            <button type="button" disabled>
              Export (zip)
            </button>
          )}
          <label className="file">
            Import an exported zip
            <input
              type="file"
              accept=".zip,application/zip"
              data-testid="import-adapter"
              onChange={(e) => {
                const file = e.target.files?.[0];
                if (file) importFile(file);
                e.target.value = '';
              }}
            />
          </label>
        </div>
      </section>
      <section className="card danger-zone">
        <h3>Forget</h3>
        <p className="muted">
          Deletes every adapter version, history item, profile and setting of {user.id}, and the user.
        </p>
        <button type="button" className="danger" onClick={forget} data-testid="forget">
          Forget {user.id}
        </button>
      </section>
    </>
  );
}
