import type { LossPoint } from '../api.ts';

/** The training loss against the step, as an inline SVG line chart. */
export function LossChart({
  points,
  width = 640,
  height = 220,
}: {
  points: LossPoint[];
  width?: number;
  height?: number;
}) {
  const data = points.filter((p) => p.loss !== undefined && Number.isFinite(p.loss));
  const pad = { left: 48, right: 12, top: 12, bottom: 28 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  if (data.length === 0) {
    return (
      <svg
        width={width}
        height={height}
        className="chart"
        data-testid="loss-chart"
        role="img"
        aria-label="loss curve"
      >
        <text x={width / 2} y={height / 2} textAnchor="middle" className="axis-label">
          the loss curve appears here while a user trains
        </text>
      </svg>
    );
  }
  const maxStep = Math.max(data[data.length - 1]!.total, ...data.map((p) => p.step), 1);
  const losses = data.map((p) => p.loss!);
  let lo = Math.min(...losses);
  let hi = Math.max(...losses);
  if (hi - lo < 1e-6) {
    hi += 0.5;
    lo = Math.max(0, lo - 0.5);
  }
  const x = (step: number) => pad.left + (step / maxStep) * w;
  const y = (loss: number) => pad.top + (1 - (loss - lo) / (hi - lo)) * h;
  const path = data
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.step).toFixed(1)},${y(p.loss!).toFixed(1)}`)
    .join(' ');
  const ticks = [lo, (lo + hi) / 2, hi];
  return (
    <svg
      width={width}
      height={height}
      className="chart"
      data-testid="loss-chart"
      role="img"
      aria-label="loss curve"
    >
      {ticks.map((t) => (
        <g key={t}>
          <line x1={pad.left} x2={pad.left + w} y1={y(t)} y2={y(t)} className="grid" />
          <text x={pad.left - 6} y={y(t) + 4} textAnchor="end" className="axis-label">
            {t.toFixed(2)}
          </text>
        </g>
      ))}
      <line x1={pad.left} x2={pad.left + w} y1={pad.top + h} y2={pad.top + h} className="axis" />
      <text x={pad.left} y={height - 8} className="axis-label">
        0
      </text>
      <text x={pad.left + w} y={height - 8} textAnchor="end" className="axis-label">
        step {maxStep}
      </text>
      <text x={pad.left + w / 2} y={height - 8} textAnchor="middle" className="axis-label">
        training loss
      </text>
      <path d={path} className="line" />
      {data.length < 60 &&
        data.map((p) => <circle key={p.step} cx={x(p.step)} cy={y(p.loss!)} r={2.5} className="dot" />)}
    </svg>
  );
}
