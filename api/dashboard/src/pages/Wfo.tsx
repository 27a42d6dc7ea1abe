import { useEffect, useMemo, useState, type FormEvent } from "react";

import { api, ApiError, type ApplyResult, type Grade, type JobProgress, type SweepLaunch, type WfoResult } from "../api";
import { BarChart, Heatmap, LineChart } from "../components/charts";
import { Empty, ErrorNote, Section } from "../components/Notes";
import { ProgressBar } from "../components/ProgressBar";
import { fmtDate, fmtNum, fmtTime, fmtValue } from "../format";
import { useLive } from "../live";
import { usePoll } from "../usePoll";
import { buildHeatmap, dateToMs, fresherJob, isFinal, type ComboMetric } from "../wfo";

const GRADES: Grade[] = ["A", "B", "C", "D", "F"];
const METRICS: { id: ComboMetric; label: string }[] = [
  { id: "oos_sharpe", label: "OOS Sharpe" },
  { id: "is_sharpe", label: "IS Sharpe" },
  { id: "consistency", label: "consistency" },
  { id: "combo_score", label: "combo score" },
  { id: "n_trades", label: "OOS trades" },
];

function numOrUndefined(v: string): number | undefined {
  if (v.trim() === "") return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function LaunchForm({ onLaunched }: { onLaunched: (job: JobProgress) => void }) {
  const strategies = usePoll(() => api.wfoStrategies(), []);
  const data = usePoll(() => api.dataStatus(), []);
  const { update } = useLive();
  const withGrid = useMemo(() => (strategies.data ?? []).filter((s) => s.has_grid), [strategies.data]);
  const [strategy, setStrategy] = useState("");
  const [symbols, setSymbols] = useState("");
  const [exchange, setExchange] = useState("");
  const [win, setWin] = useState({ is: "", oos: "", step: "", embargo: "" });
  const [start, setStart] = useState("");
  const [end, setEnd] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [launched, setLaunched] = useState<string | null>(null);

  const info = withGrid.find((s) => s.name === strategy);
  const grid = usePoll(() => (strategy ? api.paramGrid(strategy) : Promise.resolve(null)), [strategy]);
  const seriesExchanges = useMemo(() => [...new Set((data.data?.series ?? []).map((s) => s.exchange))], [data.data]);
  const knownSymbols = useMemo(
    () => [...new Set([...(data.data?.series ?? []).map((s) => s.symbol), ...Object.keys(update?.prices ?? {})])].sort(),
    [data.data, update],
  );

  useEffect(() => {
    if (!strategy && withGrid.length) setStrategy((withGrid.find((s) => s.enabled) ?? withGrid[0]).name);
  }, [withGrid, strategy]);
  useEffect(() => {
    if (!info) return;
    setSymbols((info.symbols[0] ?? knownSymbols[0] ?? "BTC/USDT:USDT").toString());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [info?.name]);
  useEffect(() => {
    if (!exchange && seriesExchanges.length) setExchange(seriesExchanges[0]);
  }, [seriesExchanges, exchange]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setLaunched(null);
    const list = symbols.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
    if (!strategy) return setError("choose a strategy");
    if (!list.length) return setError("give at least one symbol, e.g. BTC/USDT:USDT");
    const body: SweepLaunch = {
      strategy, symbols: list, exchange: exchange.trim() || undefined, start_ms: dateToMs(start), end_ms: dateToMs(end),
      is_days: numOrUndefined(win.is), oos_days: numOrUndefined(win.oos), step_days: numOrUndefined(win.step), embargo_days: numOrUndefined(win.embargo),
    };
    setBusy(true);
    try {
      const job = await api.wfoLaunch(body);
      setLaunched(job.job_id);
      onLaunched(job);
    } catch (err) {
      setError(err instanceof ApiError ? err.detail : String(err));
    } finally {
      setBusy(false);
    }
  };

  const w = grid.data?.wfo;
  return (
    <form className="form" onSubmit={submit} data-testid="wfo-form">
      <ErrorNote error={strategies.error} what="strategies" />
      <label>
        Strategy
        <select value={strategy} onChange={(e) => setStrategy(e.target.value)} data-testid="wfo-strategy">
          {withGrid.map((s) => (
            <option key={s.name} value={s.name}>{s.name} — {s.n_combos?.toLocaleString("en-US")} combos{s.enabled ? "" : " (disabled)"}</option>
          ))}
        </select>
      </label>
      <label className="wide">
        Symbols (comma separated)
        <input value={symbols} onChange={(e) => setSymbols(e.target.value)} list="wfo-known-symbols" data-testid="wfo-symbols" placeholder="BTC/USDT:USDT" />
        <datalist id="wfo-known-symbols">{knownSymbols.map((s) => <option key={s} value={s} />)}</datalist>
      </label>
      <label>
        Exchange (candle data)
        <input value={exchange} onChange={(e) => setExchange(e.target.value)} list="wfo-known-exchanges" placeholder="bitget" data-testid="wfo-exchange" />
        <datalist id="wfo-known-exchanges">{seriesExchanges.map((x) => <option key={x} value={x} />)}</datalist>
      </label>
      <label>From<input type="date" value={start} onChange={(e) => setStart(e.target.value)} data-testid="wfo-start" /></label>
      <label>To<input type="date" value={end} onChange={(e) => setEnd(e.target.value)} data-testid="wfo-end" /></label>
      <label>IS days<input inputMode="decimal" value={win.is} placeholder={w ? String(w.is_days) : ""} onChange={(e) => setWin({ ...win, is: e.target.value })} data-testid="wfo-is-days" /></label>
      <label>OOS days<input inputMode="decimal" value={win.oos} placeholder={w ? String(w.oos_days) : ""} onChange={(e) => setWin({ ...win, oos: e.target.value })} data-testid="wfo-oos-days" /></label>
      <label>Step days<input inputMode="decimal" value={win.step} placeholder={w ? String(w.step_days) : ""} onChange={(e) => setWin({ ...win, step: e.target.value })} data-testid="wfo-step-days" /></label>
      <label>Embargo days<input inputMode="decimal" value={win.embargo} placeholder={w ? String(w.embargo_days) : ""} onChange={(e) => setWin({ ...win, embargo: e.target.value })} data-testid="wfo-embargo-days" /></label>
      <div className="form-actions wide">
        <button type="submit" className="primary" disabled={busy || !strategy} data-testid="wfo-launch">{busy ? "Launching…" : "Launch sweep"}</button>
        {grid.data ? <span className="muted small">grid: {Object.keys(grid.data.default).join(", ")}</span> : null}
        {launched ? <span className="ok" data-testid="wfo-launch-result">queued {launched}</span> : null}
        {error ? <span className="error" role="alert" data-testid="wfo-launch-error">{error}</span> : null}
      </div>
    </form>
  );
}

function paramText(params: Record<string, unknown>, names?: string[]): string {
  const keys = names ?? Object.keys(params);
  return keys.filter((k) => k in params).map((k) => `${k}=${fmtValue(params[k])}`).join(", ");
}

function GradeBadge({ grade }: { grade: string | null }) {
  return <span className={`grade grade-${grade ?? "none"}`} data-testid="wfo-grade">{grade ?? "—"}</span>;
}

interface WindowRow {
  window: number;
  oos_sharpe: number | null;
  oos_return_pct: number | null;
}

function windowsOf(result: WfoResult | undefined): WindowRow[] {
  const w = result?.metrics.windows;
  if (!Array.isArray(w)) return [];
  return w.map((x: Record<string, unknown>, i) => ({
    window: typeof x.window === "number" ? x.window : i,
    oos_sharpe: typeof x.oos_sharpe === "number" ? x.oos_sharpe : null,
    oos_return_pct: typeof x.oos_return_pct === "number" ? x.oos_return_pct : null,
  }));
}

function stitchedOf(result: WfoResult | undefined): [number, number][] {
  const s = result?.metrics.stitched_equity;
  if (!Array.isArray(s)) return [];
  return s.filter((p): p is [number, number] => Array.isArray(p) && typeof p[0] === "number" && typeof p[1] === "number");
}

function JobDetail({ job }: { job: JobProgress }) {
  const done = job.status === "done";
  const results = usePoll(() => (done ? api.wfoResults(job.job_id) : Promise.resolve(null)), [job.job_id, done]);
  const combos = usePoll(() => (done ? api.wfoCombos(job.job_id) : Promise.resolve(null)), [job.job_id, done]);
  const [symbol, setSymbol] = useState("");
  const [axes, setAxes] = useState<{ x: string; y: string }>({ x: "", y: "" });
  const [metric, setMetric] = useState<ComboMetric>("oos_sharpe");
  const [cell, setCell] = useState<[number, number] | null>(null);
  const [grades, setGrades] = useState<Grade[]>(["A", "B"]);
  const [dryRun, setDryRun] = useState(true);
  const [applied, setApplied] = useState<ApplyResult | null>(null);
  const [applyError, setApplyError] = useState<string | null>(null);
  const [cancelError, setCancelError] = useState<string | null>(null);

  const page = combos.data;
  const symbols = useMemo(() => [...new Set((page?.items ?? []).map((c) => c.symbol))], [page]);
  const sym = symbols.includes(symbol) ? symbol : (symbols[0] ?? "");
  const names = page?.param_names ?? [];
  const x = names.includes(axes.x) ? axes.x : (names[0] ?? "");
  const y = names.includes(axes.y) && axes.y !== x ? axes.y : (names.find((n) => n !== x) ?? "");
  const heat = useMemo(
    () => (page && x ? buildHeatmap(page.items.filter((c) => c.symbol === sym), x, y, metric) : null),
    [page, sym, x, y, metric],
  );
  useEffect(() => setCell(null), [sym, x, y, metric, job.job_id]);
  const result = (results.data ?? []).find((r) => r.symbol === sym);
  const picked = heat && cell ? heat.best[cell[0]]?.[cell[1]] : null;
  const pickedSharpes = picked && Array.isArray(picked.metrics.oos_sharpes) ? (picked.metrics.oos_sharpes as (number | null)[]) : null;
  const windows = windowsOf(result);

  const doApply = async () => {
    setApplyError(null);
    setApplied(null);
    try {
      setApplied(await api.wfoApply(job.job_id, grades, dryRun));
    } catch (err) {
      setApplyError(err instanceof ApiError ? err.detail : String(err));
    }
  };
  const doCancel = async () => {
    setCancelError(null);
    try {
      await api.wfoCancel(job.job_id);
    } catch (err) {
      setCancelError(err instanceof ApiError ? err.detail : String(err));
    }
  };

  return (
    <Section title={`Job ${job.job_id}`} testId="wfo-job" actions={!isFinal(job) ? <button type="button" onClick={doCancel}>Cancel</button> : null}>
      <div className="job-head">
        <span>{job.strategy} · {job.symbols.join(", ")} · {job.source}</span>
        <span className={`badge badge-${job.status}`} data-testid="wfo-job-status">{job.status}</span>
      </div>
      <ProgressBar value={job.progress} status={job.status} testId="wfo-progress" label={`${fmtNum(job.progress * 100, 0)}% · ${job.done.toLocaleString("en-US")} / ${job.total.toLocaleString("en-US")}`} />
      {job.error ? <p className="note error">{job.error}</p> : null}
      {cancelError ? <p className="note error">{cancelError}</p> : null}
      {!done ? <Empty>{isFinal(job) ? `the job ended ${job.status}: no results` : "results, heatmap and windows appear when the sweep is done"}</Empty> : null}
      {done ? (
        <>
          <h3>Results</h3>
          <ErrorNote error={results.error} what="results" />
          {results.data && results.data.length ? (
            <div className="table-wrap">
              <table className="table" data-testid="wfo-results">
                <thead>
                  <tr><th>Symbol</th><th>Grade</th><th className="num">Score</th><th>Best params</th></tr>
                </thead>
                <tbody>
                  {results.data.map((r) => (
                    <tr key={r.symbol} className={r.symbol === sym ? "row-selected" : ""} onClick={() => setSymbol(r.symbol)}>
                      <td>{r.symbol}</td><td><GradeBadge grade={r.grade} /></td><td className="num">{fmtNum(r.score, 1)}</td>
                      <td className="small">{paramText(r.params, names.length ? names : undefined)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : results.data ? <Empty>no result stored for this job</Empty> : null}

          <h3>Heatmap</h3>
          <ErrorNote error={combos.error} what="combos" />
          {page && page.items.length ? (
            <>
              <div className="controls">
                <label>Symbol<select value={sym} onChange={(e) => setSymbol(e.target.value)} data-testid="heatmap-symbol">{symbols.map((s) => <option key={s}>{s}</option>)}</select></label>
                <label>X<select value={x} onChange={(e) => setAxes({ ...axes, x: e.target.value })} data-testid="heatmap-x">{names.map((n) => <option key={n}>{n}</option>)}</select></label>
                {names.length > 1 ? <label>Y<select value={y} onChange={(e) => setAxes({ ...axes, y: e.target.value })} data-testid="heatmap-y">{names.map((n) => <option key={n}>{n}</option>)}</select></label> : null}
                <label>Metric<select value={metric} onChange={(e) => setMetric(e.target.value as ComboMetric)} data-testid="heatmap-metric">{METRICS.map((m) => <option key={m.id} value={m.id}>{m.label}</option>)}</select></label>
              </div>
              {heat ? (
                <Heatmap xName={x} yName={y || "all combos"} xs={heat.xs} ys={heat.ys} cells={heat.cells} selected={cell} onSelect={(r, c) => setCell([r, c])} testId="wfo-heatmap" />
              ) : (
                <Empty>no parameter varies across the combos: nothing to map</Empty>
              )}
              <p className="muted small">
                {page.total.toLocaleString("en-US")} combos; each cell is the best {METRICS.find((m) => m.id === metric)?.label} over the other parameters. Click a cell for its windows.
              </p>
            </>
          ) : page ? <Empty>no combo stored for this job</Empty> : null}

          <h3>Out-of-sample windows {picked ? `— ${picked.combo_key}` : result ? `— ${sym}, each window's IS winner` : ""}</h3>
          {pickedSharpes ? (
            <BarChart bars={pickedSharpes.map((v, i) => ({ label: `W${i}`, value: v }))} testId="wfo-windows-chart" />
          ) : windows.length ? (
            <>
              <BarChart bars={windows.map((w) => ({ label: `W${w.window}`, value: w.oos_sharpe }))} testId="wfo-windows-chart" />
              {stitchedOf(result).length > 1 ? (
                <LineChart series={[{ name: "stitched OOS equity", points: stitchedOf(result) }]} baseline={stitchedOf(result)[0]?.[1]} height={160} yFormat={(v) => fmtNum(v, Math.abs(v) >= 100 ? 0 : 3)} xFormat={fmtDate} testId="wfo-stitched-chart" />
              ) : null}
            </>
          ) : (
            <Empty>no per-window detail stored for {sym || "this job"}</Empty>
          )}

          <h3>Apply winners to strategies.yaml</h3>
          <div className="controls">
            {GRADES.map((g) => (
              <label key={g} className="check">
                <input type="checkbox" checked={grades.includes(g)} onChange={(e) => setGrades(e.target.checked ? [...grades, g] : grades.filter((x2) => x2 !== g))} />
                {g}
              </label>
            ))}
            <label className="check"><input type="checkbox" checked={dryRun} onChange={(e) => setDryRun(e.target.checked)} data-testid="wfo-dry-run" />dry run</label>
            <button type="button" className="primary" onClick={doApply} disabled={!grades.length} data-testid="wfo-apply">{dryRun ? "Preview apply" : "Apply"}</button>
          </div>
          {applyError ? <p className="note error" role="alert">{applyError}</p> : null}
          {applied ? (
            <div data-testid="wfo-apply-result">
              <p className="note">
                {applied.dry_run ? "would apply" : "applied"} {applied.applied.length} winner(s){applied.backup ? `; backup: ${applied.backup}` : ""}
              </p>
              <ul className="small">
                {applied.applied.map((a) => <li key={a.symbol}>{a.strategy} {a.symbol} <GradeBadge grade={a.grade} /> {paramText(a.params, names.length ? names : undefined)}</li>)}
              </ul>
            </div>
          ) : null}
        </>
      ) : null}
    </Section>
  );
}

export function WfoPage() {
  const { jobs: pushed } = useLive();
  const polled = usePoll(() => api.wfoJobs(), [], 5_000);
  const [selected, setSelected] = useState<string | null>(null);
  const [launched, setLaunched] = useState<Record<string, JobProgress>>({});

  const jobs = useMemo(() => {
    const byId = new Map<string, JobProgress>();
    for (const j of [...Object.values(launched), ...(polled.data ?? [])]) byId.set(j.job_id, fresherJob(byId.get(j.job_id), j)!);
    for (const j of Object.values(pushed)) byId.set(j.job_id, fresherJob(byId.get(j.job_id), j)!);
    return [...byId.values()].sort((a, b) => (b.submitted_at ?? 0) - (a.submitted_at ?? 0) || a.job_id.localeCompare(b.job_id));
  }, [polled.data, pushed, launched]);
  const current = jobs.find((j) => j.job_id === selected) ?? jobs.find((j) => j.status === "done") ?? jobs[0];

  return (
    <div className="page" data-testid="page-wfo">
      <h1>WFO explorer</h1>
      <Section title="Launch a sweep">
        <LaunchForm
          onLaunched={(job) => {
            setLaunched((m) => ({ ...m, [job.job_id]: job }));
            setSelected(job.job_id);
          }}
        />
      </Section>
      <Section title="Jobs">
        <ErrorNote error={polled.error} what="jobs" />
        {jobs.length === 0 ? (
          <Empty>no sweep yet</Empty>
        ) : (
          <div className="table-wrap">
            <table className="table" data-testid="wfo-jobs">
              <thead>
                <tr><th>Job</th><th>Strategy</th><th className="hide-sm">Symbols</th><th>Status</th><th className="progress-col">Progress</th><th className="hide-sm">Submitted</th></tr>
              </thead>
              <tbody>
                {jobs.map((j) => (
                  <tr key={j.job_id} data-testid="wfo-job-row" data-job-id={j.job_id} className={j.job_id === current?.job_id ? "row-selected" : ""} onClick={() => setSelected(j.job_id)}>
                    <td><button type="button" className="link">{j.job_id}</button></td>
                    <td>{j.strategy}</td>
                    <td className="hide-sm small">{j.symbols.join(", ")}</td>
                    <td><span className={`badge badge-${j.status}`}>{j.status}</span></td>
                    <td className="progress-col"><ProgressBar value={j.progress} status={j.status} /></td>
                    <td className="hide-sm">{fmtTime(j.submitted_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      {current ? <JobDetail key={current.job_id} job={current} /> : null}
    </div>
  );
}
