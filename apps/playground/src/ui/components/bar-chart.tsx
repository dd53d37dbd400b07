export interface Bar {
  label: string;
  values: number[];
  /** Reference rows (oracle, baseline) are drawn hatched. */
  reference?: boolean;
}

/** Grouped horizontal bars (one group per method, one bar per metric), as inline SVG; values in [0, max]. */
export function BarChart({
  bars,
  metrics,
  max,
  width = 640,
}: {
  bars: Bar[];
  metrics: string[];
  max: number;
  width?: number;
}) {
  const labelW = 150;
  const barH = 14;
  const groupH = metrics.length * (barH + 2) + 10;
  const top = 24;
  const height = top + bars.length * groupH + 24;
  const w = width - labelW - 60;
  const x = (v: number) => labelW + (Math.max(0, Math.min(v, max)) / max) * w;
  return (
    <svg
      width={width}
      height={height}
      className="chart"
      data-testid="eval-chart"
      role="img"
      aria-label="evaluation chart"
    >
      {metrics.map((m, j) => (
        <g key={m} transform={`translate(${labelW + j * 120}, 6)`}>
          <rect width={12} height={10} className={`bar m${j}`} />
          <text x={16} y={9} className="axis-label">
            {m}
          </text>
        </g>
      ))}
      {[0, 0.25, 0.5, 0.75, 1].map((f) => (
        <g key={f}>
          <line x1={x(f * max)} x2={x(f * max)} y1={top} y2={height - 20} className="grid" />
          <text x={x(f * max)} y={height - 6} textAnchor="middle" className="axis-label">
            {(f * max).toFixed(2)}
          </text>
        </g>
      ))}
      {bars.map((bar, i) => (
        <g key={bar.label} transform={`translate(0, ${top + i * groupH})`}>
          <text
            x={labelW - 8}
            y={groupH / 2}
            textAnchor="end"
            className={`bar-label ${bar.reference ? 'ref' : ''}`}
          >
            {bar.label}
          </text>
          {bar.values.map((v, j) => (
            <g key={metrics[j]}>
              <rect
                x={labelW}
                y={4 + j * (barH + 2)}
                width={Math.max(1, x(v) - labelW)}
                height={barH}
                className={`bar m${j} ${bar.reference ? 'ref' : ''}`}
              />
              <text x={x(v) + 4} y={4 + j * (barH + 2) + barH - 3} className="axis-label">
                {v.toFixed(3)}
              </text>
            </g>
          ))}
        </g>
      ))}
    </svg>
  );
}
