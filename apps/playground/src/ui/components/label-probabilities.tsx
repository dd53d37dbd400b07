/**
 * A label task's answer, explained: each label's probability as a bar, most probable first; the top `shown`
 * labels in view, the rest behind "all labels".
 */
export function LabelProbabilities({
  probabilities,
  answer,
  shown = 5,
  testId,
}: {
  probabilities: Record<string, number>;
  answer: string;
  shown?: number;
  testId?: string;
}) {
  const rows = Object.entries(probabilities).sort((a, b) => b[1] - a[1]);
  const row = ([label, p]: [string, number]) => (
    <li key={label} className={label === answer ? 'chosen' : ''} data-label={label} data-p={p}>
      <span className="prob-label" title={label}>
        {label}
      </span>
      <span className="prob-bar">
        <span style={{ width: `${(p * 100).toFixed(1)}%` }} />
      </span>
      <span className="prob-value">{(p * 100).toFixed(p < 0.1 ? 1 : 0)}%</span>
    </li>
  );
  return (
    <div className="probabilities small" data-testid={testId}>
      <div className="muted">every label scored; probabilities:</div>
      <ul>{rows.slice(0, shown).map(row)}</ul>
      {rows.length > shown && (
        <details>
          <summary>all {rows.length} labels</summary>
          <ul>{rows.slice(shown).map(row)}</ul>
        </details>
      )}
    </div>
  );
}
