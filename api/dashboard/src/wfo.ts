// WFO explorer logic kept out of the page: the heatmap grid over two parameters and the choice between a
// job's polled and pushed progress.

import type { ComboResult, JobProgress } from "./api";

export type ComboMetric = "oos_sharpe" | "is_sharpe" | "consistency" | "n_trades" | "combo_score";

export function comboValue(c: ComboResult, metric: ComboMetric): number | null {
  if (metric === "combo_score") {
    const v = c.metrics.combo_score;
    return typeof v === "number" && Number.isFinite(v) ? v : null;
  }
  const v = c[metric];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function sortValues(values: unknown[]): unknown[] {
  const uniq = [...new Map(values.map((v) => [JSON.stringify(v), v])).values()];
  return uniq.sort((a, b) => (typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b))));
}

export interface HeatmapGrid {
  xs: string[];
  ys: string[];
  cells: (number | null)[][]; // [y][x]
  best: (ComboResult | null)[][]; // the combo behind each cell (the best one over the other parameters)
}

/** One cell per (x, y) value pair; when other parameters vary too, a cell shows the best combo among them
 * (what the parameter pair can reach), and keeps that combo for the per-window chart. An empty `yName`
 * (a sweep with one varying parameter) gives a single row. */
export function buildHeatmap(combos: ComboResult[], xName: string, yName: string, metric: ComboMetric): HeatmapGrid {
  const yOf = (c: ComboResult) => (yName ? c.params[yName] : "all");
  const xv = sortValues(combos.map((c) => c.params[xName]));
  const yv = sortValues(combos.map(yOf));
  const xi = new Map(xv.map((v, i) => [JSON.stringify(v), i]));
  const yi = new Map(yv.map((v, i) => [JSON.stringify(v), i]));
  const cells: (number | null)[][] = yv.map(() => xv.map(() => null));
  const best: (ComboResult | null)[][] = yv.map(() => xv.map(() => null));
  for (const c of combos) {
    const x = xi.get(JSON.stringify(c.params[xName]));
    const y = yi.get(JSON.stringify(yOf(c)));
    if (x === undefined || y === undefined) continue;
    const v = comboValue(c, metric);
    const cur = cells[y][x];
    if (best[y][x] === null || (v !== null && (cur === null || v > cur))) {
      cells[y][x] = v;
      best[y][x] = c;
    }
  }
  return { xs: xv.map(String), ys: yv.map(String), cells, best };
}

const FINAL = new Set(["done", "failed", "cancelled"]);

/** The fresher of two views of a job: the later submission, then a finished state, then the one further along. */
export function fresherJob(a: JobProgress | undefined, b: JobProgress | undefined): JobProgress | undefined {
  if (!a) return b;
  if (!b) return a;
  // The same id submitted again (a resumed job): the newer submission is the job now.
  if ((a.submitted_at ?? 0) !== (b.submitted_at ?? 0)) return (a.submitted_at ?? 0) > (b.submitted_at ?? 0) ? a : b;
  const af = FINAL.has(a.status);
  const bf = FINAL.has(b.status);
  if (af !== bf) return af ? a : b;
  if (a.done !== b.done) return a.done > b.done ? a : b;
  return (a.finished_at ?? 0) >= (b.finished_at ?? 0) ? a : b;
}

export function isFinal(job: JobProgress | undefined): boolean {
  return job !== undefined && FINAL.has(job.status);
}

/** Days since epoch from an <input type="date"> value, as epoch ms (UTC midnight); undefined when empty. */
export function dateToMs(value: string): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(`${value}T00:00:00Z`);
  return Number.isFinite(ms) ? ms : undefined;
}
