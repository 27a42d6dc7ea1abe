// Small hand-written SVG charts (equity, drawdown, bars, heatmap, sparkline): a few hundred points at
// most, so plain SVG drawn at the container's pixel width is enough and adds no dependency.

import { fmtDate, fmtNum } from "../format";
import { useWidth } from "./useWidth";

export const PALETTE = ["#4ea1ff", "#f5a524", "#2ecc71", "#e74c3c", "#b07cff", "#1abc9c", "#ff6fb5", "#c0c736"];

export interface Series {
  name: string;
  color?: string;
  points: [number, number][]; // [x (epoch ms or index), y]
}

/** Round tick steps (1, 2, 2.5, 5 x 10^k) so the axis reads 0, 500, 1,000 rather than 0, 437, 874. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function extent(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo === Infinity ? [0, 1] : [lo, hi];
}

interface LineChartProps {
  series: Series[];
  height?: number;
  yFormat?: (v: number) => string;
  xFormat?: (v: number) => string;
  baseline?: number; // a dashed reference line (initial capital, 0 %)
  area?: boolean; // fill between the first series and the baseline (drawdown)
  testId?: string;
  legend?: boolean;
}

export function LineChart({ series, height = 220, yFormat = (v) => fmtNum(v, 0), xFormat = fmtDate, baseline, area, testId, legend }: LineChartProps) {
  const [ref, width] = useWidth<HTMLDivElement>();
  const pts = series.flatMap((s) => s.points);
  const padL = 64;
  const padR = 12;
  const padT = 10;
  const padB = 24;
  if (pts.length === 0) {
    return <div ref={ref} className="chart chart-empty" data-testid={testId}>no data yet</div>;
  }
  const [x0, x1] = extent(pts.map((p) => p[0]));
  let [y0, y1] = extent(pts.map((p) => p[1]).concat(baseline !== undefined ? [baseline] : []));
  if (y0 === y1) {
    y0 -= Math.abs(y0) * 0.01 || 1;
    y1 += Math.abs(y1) * 0.01 || 1;
  }
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const w = Math.max(120, width);
  const sx = (x: number) => padL + ((x - x0) / (x1 - x0 || 1)) * (w - padL - padR);
  const sy = (y: number) => padT + (1 - (y - y0) / (y1 - y0)) * (height - padT - padB);
  const yTicks = niceTicks(y0, y1, 4);
  const xTicks = x1 > x0 ? [0, 0.33, 0.66, 1].map((f) => x0 + f * (x1 - x0)) : [x0];
  const path = (s: Series) => s.points.map((p, i) => `${i ? "L" : "M"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join("");
  const first = series[0];
  return (
    <div ref={ref} className="chart" data-testid={testId}>
      <svg width={w} height={height} role="img">
        {yTicks.map((t) => (
          <g key={`y${t}`}>
            <line x1={padL} x2={w - padR} y1={sy(t)} y2={sy(t)} className="grid-line" />
            <text x={padL - 6} y={sy(t) + 4} textAnchor="end" className="axis">{yFormat(t)}</text>
          </g>
        ))}
        {xTicks.map((t, i) => (
          <text key={`x${i}`} x={sx(t)} y={height - 6} textAnchor={i === 0 ? "start" : i === xTicks.length - 1 ? "end" : "middle"} className="axis">
            {xFormat(t)}
          </text>
        ))}
        {baseline !== undefined && baseline >= y0 && baseline <= y1 ? (
          <line x1={padL} x2={w - padR} y1={sy(baseline)} y2={sy(baseline)} className="baseline" />
        ) : null}
        {area && first && first.points.length > 1 ? (
          <path
            d={`${path(first)}L${sx(first.points[first.points.length - 1][0]).toFixed(1)},${sy(baseline ?? y1).toFixed(1)}L${sx(first.points[0][0]).toFixed(1)},${sy(baseline ?? y1).toFixed(1)}Z`}
            fill={first.color ?? PALETTE[0]}
            opacity={0.25}
          />
        ) : null}
        {series.map((s, i) => (
          <path key={s.name} d={path(s)} fill="none" stroke={s.color ?? PALETTE[i % PALETTE.length]} strokeWidth={1.6} />
        ))}
      </svg>
      {legend ? (
        <div className="legend">
          {series.map((s, i) => (
            <span key={s.name}>
              <i style={{ background: s.color ?? PALETTE[i % PALETTE.length] }} />
              {s.name}
            </span>
          ))}
        </div>
      ) : null}
    </div>
  );
}

export interface Bar {
  label: string;
  value: number | null;
}

export function BarChart({ bars, height = 180, yFormat = (v) => fmtNum(v, 2), testId }: { bars: Bar[]; height?: number; yFormat?: (v: number) => string; testId?: string }) {
  const [ref, width] = useWidth<HTMLDivElement>();
  if (bars.length === 0) return <div ref={ref} className="chart chart-empty" data-testid={testId}>no data yet</div>;
  const padL = 56;
  const padB = 22;
  const padT = 8;
  const w = Math.max(120, width);
  const vals = bars.map((b) => b.value ?? 0);
  const lo = Math.min(0, ...vals);
  const hi = Math.max(0, ...vals);
  const span = hi - lo || 1;
  const sy = (v: number) => padT + (1 - (v - lo) / span) * (height - padT - padB);
  const bw = (w - padL - 8) / bars.length;
  const labelEvery = Math.max(1, Math.ceil(bars.length / Math.max(1, Math.floor((w - padL) / 56))));
  return (
    <div ref={ref} className="chart" data-testid={testId}>
      <svg width={w} height={height} role="img">
        {niceTicks(lo, hi, 4).map((t) => (
          <g key={t}>
            <line x1={padL} x2={w - 8} y1={sy(t)} y2={sy(t)} className="grid-line" />
            <text x={padL - 6} y={sy(t) + 4} textAnchor="end" className="axis">{yFormat(t)}</text>
          </g>
        ))}
        {bars.map((b, i) => {
          const v = b.value ?? 0;
          const y = Math.min(sy(v), sy(0));
          return (
            <g key={`${b.label}-${i}`}>
              <rect x={padL + i * bw + 1} y={y} width={Math.max(1, bw - 2)} height={Math.max(1, Math.abs(sy(v) - sy(0)))} className={v >= 0 ? "bar-pos" : "bar-neg"}>
                <title>{`${b.label}: ${b.value === null ? "—" : yFormat(b.value)}`}</title>
              </rect>
              {i % labelEvery === 0 ? (
                <text x={padL + i * bw + bw / 2} y={height - 6} textAnchor="middle" className="axis">{b.label}</text>
              ) : null}
            </g>
          );
        })}
      </svg>
    </div>
  );
}

/** Red below zero, green above, grey for missing: Sharpe-like values read at a glance. */
export function divergingColor(v: number | null, lo: number, hi: number): string {
  if (v === null || !Number.isFinite(v)) return "#2a313c";
  const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
  const t = Math.max(-1, Math.min(1, v / m));
  if (t >= 0) return `rgb(${Math.round(40 + (1 - t) * 40)},${Math.round(80 + t * 120)},${Math.round(70 + (1 - t) * 20)})`;
  return `rgb(${Math.round(90 + -t * 140)},${Math.round(70 - -t * 20)},${Math.round(75 - -t * 15)})`;
}

interface HeatmapProps {
  xName: string;
  yName: string;
  xs: string[];
  ys: string[];
  cells: (number | null)[][]; // [row y][column x]
  format?: (v: number | null) => string;
  selected?: [number, number] | null;
  onSelect?: (yi: number, xi: number) => void;
  testId?: string;
}

export function Heatmap({ xName, yName, xs, ys, cells, format = (v) => (v === null ? "—" : fmtNum(v, 2)), selected, onSelect, testId }: HeatmapProps) {
  const [ref, width] = useWidth<HTMLDivElement>();
  const padL = 70;
  const padT = 8;
  const padB = 40;
  const cell = Math.max(22, Math.min(64, Math.floor((width - padL - 8) / Math.max(1, xs.length))));
  const cellH = Math.max(20, Math.min(40, cell));
  const vals = cells.flat().filter((v): v is number => v !== null && Number.isFinite(v));
  const [lo, hi] = vals.length ? [Math.min(...vals), Math.max(...vals)] : [0, 1];
  const w = padL + cell * xs.length + 8;
  const h = padT + cellH * ys.length + padB;
  const showText = cell >= 40;
  return (
    <div ref={ref} className="chart heatmap" data-testid={testId} data-cells={xs.length * ys.length}>
      <svg width={w} height={h} role="img" aria-label={`${yName} by ${xName}`}>
        {ys.map((yv, r) => (
          <text key={`yl${r}`} x={padL - 6} y={padT + r * cellH + cellH / 2 + 4} textAnchor="end" className="axis">{yv}</text>
        ))}
        {ys.map((yv, r) =>
          xs.map((xv, c) => {
            const v = cells[r]?.[c] ?? null;
            const isSel = selected && selected[0] === r && selected[1] === c;
            return (
              <g key={`${r}-${c}`} onClick={onSelect ? () => onSelect(r, c) : undefined} style={onSelect ? { cursor: "pointer" } : undefined}>
                <rect
                  x={padL + c * cell}
                  y={padT + r * cellH}
                  width={cell - 2}
                  height={cellH - 2}
                  fill={divergingColor(v, lo, hi)}
                  stroke={isSel ? "#fff" : "none"}
                  strokeWidth={isSel ? 2 : 0}
                  data-testid="heatmap-cell"
                >
                  <title>{`${yName}=${yv}, ${xName}=${xv}: ${format(v)}`}</title>
                </rect>
                {showText ? (
                  <text x={padL + c * cell + cell / 2 - 1} y={padT + r * cellH + cellH / 2 + 4} textAnchor="middle" className="cell-text">
                    {format(v)}
                  </text>
                ) : null}
              </g>
            );
          }),
        )}
        {xs.map((xv, c) => (
          <text key={`xl${c}`} x={padL + c * cell + cell / 2} y={padT + cellH * ys.length + 14} textAnchor="middle" className="axis">{xv}</text>
        ))}
        <text x={padL + (cell * xs.length) / 2} y={h - 4} textAnchor="middle" className="axis-title">{xName}</text>
        <text x={4} y={padT + 10} className="axis-title">{yName}</text>
      </svg>
    </div>
  );
}

export function Sparkline({ values, width = 90, height = 24 }: { values: number[]; width?: number; height?: number }) {
  if (values.length < 2) return <svg width={width} height={height} className="spark" />;
  const [lo, hi] = extent(values);
  const span = hi - lo || 1;
  const d = values
    .map((v, i) => `${i ? "L" : "M"}${((i / (values.length - 1)) * (width - 2) + 1).toFixed(1)},${(height - 2 - ((v - lo) / span) * (height - 4)).toFixed(1)}`)
    .join("");
  const up = values[values.length - 1] >= values[0];
  return (
    <svg width={width} height={height} className="spark">
      <path d={d} fill="none" stroke={up ? "#2ecc71" : "#e74c3c"} strokeWidth={1.4} />
    </svg>
  );
}
