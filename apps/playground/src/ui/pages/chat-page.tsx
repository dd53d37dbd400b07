import { type FormEvent, useState } from 'react';
import { type Answer, api, userPath } from '../api.ts';
import { type PageProps, PickUser } from '../app.tsx';
import { LabelProbabilities } from '../components/label-probabilities.tsx';

const EXPLAIN: Record<string, string> = {
  base: 'the base model alone: no personal data',
  rag: "+ the most relevant item of the user's history in the prompt (BM25)",
  pag: "+ the user's profile and the retrieved item",
  oppu: "the user's own LoRA adapter, prompt without history",
  'oppu+rag': 'the adapter + the retrieved item',
  'oppu+pag': 'the adapter + profile + retrieved item',
};

export function ChatPage(props: PageProps) {
  const { user, users, info, run, select } = props;
  const [question, setQuestion] = useState('');
  const [methods, setMethods] = useState<string[]>(['base', 'rag', 'pag', 'oppu']);
  const [answers, setAnswers] = useState<Answer[]>();
  const [asked, setAsked] = useState<string>();
  const [busy, setBusy] = useState(false);
  if (!user) return <PickUser users={users} select={select} page="chat" />;
  const task = info.tasks.find((t) => t.id === user.task)!;

  const ask = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    void run(async () => {
      const res = await api<{ answers: Answer[] }>(`${userPath(user.id)}/ask`, {
        body: { question, methods },
      });
      setAnswers(res.answers);
      setAsked(question);
    }).finally(() => setBusy(false));
  };
  const base = answers?.find((a) => a.method === 'base');
  const profile = answers?.find((a) => a.profile)?.profile;

  return (
    <>
      <section className="card">
        <h2>
          Ask as <em>{user.id}</em> <span className="muted">({task.name})</span>
        </h2>
        <form onSubmit={ask} data-testid="ask-form">
          <label className="grow">
            {task.questionField === 'description'
              ? 'A movie description — which tag would this user give it?'
              : 'A text to paraphrase as this user would tweet it'}
            <textarea
              rows={3}
              value={question}
              onChange={(e) => setQuestion(e.target.value)}
              data-testid="question"
              required
            />
          </label>
          {user.demo && user.demo.examples.length > 0 && (
            <div className="row small">
              <span className="muted">examples drawn from {user.id}'s preferences:</span>
              {user.demo.examples.map((ex, i) => (
                <button type="button" className="chip" key={ex} onClick={() => setQuestion(ex)} title={ex}>
                  example {i + 1}
                </button>
              ))}
            </div>
          )}
          <div className="row">
            {info.methods.map((m) => (
              <label key={m} className="check" title={EXPLAIN[m]}>
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
            <button type="submit" disabled={busy || methods.length === 0} data-testid="ask">
              {busy ? 'Answering…' : 'Ask'}
            </button>
          </div>
        </form>
      </section>
      {answers && (
        <>
          <div className="answers" data-testid="answers">
            {info.methods
              .filter((m) => answers.some((a) => a.method === m))
              .map((m) => {
                const a = answers.find((x) => x.method === m)!;
                const differs = base !== undefined && a.method !== 'base' && a.text !== base.text;
                return (
                  <article
                    key={m}
                    className={`answer ${differs ? 'differs' : ''}`}
                    data-testid={`answer-${m}`}
                  >
                    <header>
                      <strong>{m}</strong>
                      {a.adapterVersion !== undefined ? (
                        <span className="badge ok">adapter v{a.adapterVersion}</span>
                      ) : m.startsWith('oppu') ? (
                        <span className="badge warn">no adapter yet: base answered</span>
                      ) : null}
                      {differs && <span className="badge accent">differs from base</span>}
                    </header>
                    <p className="muted small">{EXPLAIN[m]}</p>
                    <p className="answer-text" data-testid={`answer-text-${m}`}>
                      {a.text || <span className="muted">(empty answer)</span>}
                    </p>
                    {a.probabilities && (
                      <LabelProbabilities
                        probabilities={a.probabilities}
                        answer={a.text}
                        testId={`probabilities-${m}`}
                      />
                    )}
                    {a.retrieved.length > 0 && (
                      <div className="small">
                        <div className="muted">retrieved from {user.id}'s history:</div>
                        <ul className="retrieved">
                          {a.retrieved.map((it) => (
                            <li key={it.id}>
                              {task.itemFields.map((f) => (
                                <span key={f} className={f === 'tag' ? 'tag' : ''}>
                                  {it[f]}{' '}
                                </span>
                              ))}
                            </li>
                          ))}
                        </ul>
                      </div>
                    )}
                    <details className="small">
                      <summary>prompt</summary>
                      <pre>{a.prompt}</pre>
                    </details>
                  </article>
                );
              })}
          </div>
          <section className="card small" data-testid="profile">
            <strong>{user.id}'s profile</strong>{' '}
            <span className="muted">(what PAG puts into the prompt)</span>
            <p>{profile ?? <span className="muted">no profile (ask with pag to see it)</span>}</p>
            {asked && <p className="muted">question: {asked.slice(0, 200)}</p>}
          </section>
        </>
      )}
    </>
  );
}
