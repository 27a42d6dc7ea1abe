import { useEffect, useMemo, useState, type FormEvent } from "react";

import { api, ApiError, type PortfolioDetail, type PortfolioProgress } from "../api";
import { LineChart, PALETTE } from "../components/charts";
import { Empty, ErrorNote, Section } from "../components/Notes";
import { ProgressBar } from "../components/ProgressBar";
import { fmtDate, fmtNum, fmtPct, fmtTime, fmtUsd, fmtValue, pnlClass } from "../format";
import { useLive } from "../live";
import { usePoll } from "../usePoll";
import { dateToMs } from "../wfo";

const TIMEFRAMES = ["1m", "5m", "15m", "30m", "1h", "4h", "1d"];

function LaunchForm({ onLaunched }: { onLaunched: (run: PortfolioProgress) => void }) {
  const strategies = usePoll(() => api.wfoStrategies(), []);
  const [picked, setPicked] = useState<string[]>([]);
  const [symbols, setSymbols] = useState("");
  const [timeframe, setTimeframe] = useState("1h");
  const [exchange, setExchange] = useState("");
  const [capital, setCapital] = useState("");
  const [name, setName] = useState("");
  const [start, setStart] = useState("");
  const [end, setEnd] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const enabled = (strategies.data ?? []).filter((s) => s.enabled);
    if (!picked.length && enabled.length) {
      setPicked(enabled.map((s) => s.name));
      setSymbols([...new Set(enabled.flatMap((s) => s.symbols))].slice(0, 3).join(", "));
    }
  }, [strategies.data, picked.length]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const list = symbols.split(/[\s,]+/).filter(Boolean);
    if (!picked.length) return setError("pick at least one strategy");
    if (!list.length) return setError("give at least one symbol");
    const cap = capital.trim() ? Number(capital) : undefined;
    if (cap !== undefined && !(cap > 0)) return setError("capital must be a positive number of USDT");
    setBusy(true);
    try {
      onLaunched(await api.portfolioLaunch({
        strategies: picked, symbols: list, timeframe, exchange: exchange.trim() || undefined, capital: cap, name: name.trim(),
        start_ms: dateToMs(start), end_ms: dateToMs(end),
      }));
    } catch (err) {
      setError(err instanceof ApiError ? err.detail : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="form" onSubmit={submit} data-testid="portfolio-form">
      <ErrorNote error={strategies.error} what="strategies" />
      <fieldset className="wide">
        <legend>Strategies</legend>
        <div className="checks">
          {(strategies.data ?? []).map((s) => (
            <label key={s.name} className="check">
              <input type="checkbox" checked={picked.includes(s.name)} onChange={(e) => setPicked(e.target.checked ? [...picked, s.name] : picked.filter((p) => p !== s.name))} />
              {s.name}
            </label>
          ))}
        </div>
      </fieldset>
      <label className="wide">Symbols (comma separated)<input value={symbols} onChange={(e) => setSymbols(e.target.value)} placeholder="BTC/USDT:USDT, ETH/USDT:USDT" data-testid="portfolio-symbols" /></label>
      <label>Timeframe<select value={timeframe} onChange={(e) => setTimeframe(e.target.value)}>{TIMEFRAMES.map((t) => <option key={t}>{t}</option>)}</select></label>
      <label>Exchange<input value={exchange} onChange={(e) => setExchange(e.target.value)} placeholder="bitget" /></label>
      <label>Capital (USDT)<input inputMode="decimal" value={capital} onChange={(e) => setCapital(e.target.value)} placeholder="risk.yaml" /></label>
      <label>Name<input value={name} onChange={(e) => setName(e.target.value)} maxLength={128} /></label>
      <label>From<input type="date" value={start} onChange={(e) => setStart(e.target.value)} /></label>
      <label>To<input type="date" value={end} onChange={(e) => setEnd(e.target.value)} /></label>
      <div className="form-actions wide">
        <button type="submit" className="primary" disabled={busy} data-testid="portfolio-launch">{busy ? "Launching…" : "Run backtest"}</button>
        {error ? <span className="error" role="alert">{error}</span> : null}
      </div>
    </form>
  );
}

/** Equity as % return from each backtest's own start, so different capitals compare on one axis. */
function returnSeries(d: PortfolioDetail): [number, number][] {
  const c0 = d.summary.initial_capital || d.equity_curve[0]?.equity || 1;
  return d.equity_curve.map((p) => [p.timestamp, (p.equity / c0 - 1) * 100]);
}

export function PortfolioPage() {
  const { portfolioRuns } = useLive();
  const runs = usePoll(() => api.portfolioRuns(), [], 5_000);
  const backtests = usePoll(() => api.portfolioBacktests(50), [], 15_000);
  const [selected, setSelected] = useState<number[] | null>(null);
  const [launched, setLaunched] = useState<Record<string, PortfolioProgress>>({});

  const allRuns = useMemo(() => {
    const byId = new Map<string, PortfolioProgress>();
    for (const r of [...Object.values(launched), ...(runs.data ?? []), ...Object.values(portfolioRuns)]) {
      const cur = byId.get(r.run_id);
      if (!cur || r.progress >= cur.progress) byId.set(r.run_id, r);
    }
    return [...byId.values()].sort((a, b) => b.submitted_at - a.submitted_at);
  }, [launched, runs.data, portfolioRuns]);

  // A run that just finished adds a backtest: fetch the list again.
  const doneCount = allRuns.filter((r) => r.status === "done").length;
  useEffect(() => backtests.reload(), [doneCount, backtests.reload]);

  const list = backtests.data ?? [];
  const ids = selected ?? list.slice(0, 2).map((b) => b.id);
  const details = usePoll(() => Promise.all(ids.map((id) => api.portfolioBacktest(id))), [ids.join(",")]);
  const compare = usePoll(() => (ids.length >= 2 ? api.portfolioCompare(ids) : Promise.resolve(null)), [ids.join(",")]);
  const toggle = (id: number) => {
    const cur = new Set(ids);
    if (cur.has(id)) cur.delete(id);
    else if (cur.size < 10) cur.add(id);
    setSelected([...cur]);
  };

  return (
    <div className="page" data-testid="page-portfolio">
      <h1>Portfolio backtests</h1>
      <Section title="Launch">
        <LaunchForm onLaunched={(r) => setLaunched((m) => ({ ...m, [r.run_id]: r }))} />
      </Section>
      {allRuns.length ? (
        <Section title="Runs">
          <div className="table-wrap">
            <table className="table" data-testid="portfolio-runs">
              <thead><tr><th>Run</th><th>Name</th><th>Status</th><th className="progress-col">Progress</th><th className="hide-sm">Submitted</th></tr></thead>
              <tbody>
                {allRuns.map((r) => (
                  <tr key={r.run_id}>
                    <td>{r.run_id}</td><td>{r.name}</td><td><span className={`badge badge-${r.status}`}>{r.status}</span>{r.error ? <div className="error small">{r.error}</div> : null}</td>
                    <td className="progress-col"><ProgressBar value={r.progress} status={r.status} /></td><td className="hide-sm">{fmtTime(r.submitted_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Section>
      ) : null}
      <Section title="Equity curves (return from start)">
        <ErrorNote error={details.error} what="backtests" />
        {details.data && details.data.length ? (
          <LineChart
            series={details.data.map((d, i) => ({ name: `#${d.summary.id} ${d.summary.name}`, points: returnSeries(d), color: PALETTE[i % PALETTE.length] }))}
            baseline={0}
            yFormat={(v) => `${fmtNum(v, 0)}%`}
            legend
            height={260}
            testId="portfolio-chart"
          />
        ) : (
          <Empty>select backtests below to compare their equity</Empty>
        )}
      </Section>
      {compare.data ? (
        <Section title="Compare">
          <div className="table-wrap">
            <table className="table" data-testid="portfolio-compare">
              <thead>
                <tr><th>Metric</th>{compare.data.items.map((b) => <th key={b.id} className="num">#{b.id}{b.id === compare.data!.best_return_id ? " ★" : ""}</th>)}</tr>
              </thead>
              <tbody>
                {Object.entries(compare.data.metrics).map(([m, byId]) => (
                  <tr key={m}><td>{m}</td>{compare.data!.items.map((b) => <td key={b.id} className="num">{fmtValue(byId[String(b.id)])}</td>)}</tr>
                ))}
              </tbody>
            </table>
          </div>
        </Section>
      ) : null}
      <Section title="Saved backtests">
        <ErrorNote error={backtests.error} what="backtests" />
        {list.length === 0 ? (
          backtests.error ? null : <Empty>no saved backtest</Empty>
        ) : (
          <div className="table-wrap">
            <table className="table" data-testid="portfolio-backtests">
              <thead>
                <tr>
                  <th /><th>#</th><th>Name</th><th className="hide-sm">Period</th><th className="num">Return</th><th className="num">Max DD</th>
                  <th className="num">Sharpe</th><th className="num hide-sm">Trades</th><th className="num hide-sm">BTC hold</th><th className="num">Final equity</th>
                </tr>
              </thead>
              <tbody>
                {list.map((b) => (
                  <tr key={b.id} className={ids.includes(b.id) ? "row-selected" : ""}>
                    <td><input type="checkbox" checked={ids.includes(b.id)} onChange={() => toggle(b.id)} aria-label={`compare #${b.id}`} /></td>
                    <td>{b.id}</td>
                    <td>{b.name}<div className="muted small">{b.strategies.join(", ")} · {b.symbols.length} symbols</div></td>
                    <td className="hide-sm">{fmtDate(b.start_ms)} → {fmtDate(b.end_ms)}</td>
                    <td className={`num ${pnlClass(b.return_pct)}`}>{fmtPct(b.return_pct)}</td>
                    <td className="num">{fmtPct(b.max_drawdown_pct === null ? null : -Math.abs(b.max_drawdown_pct))}</td>
                    <td className="num">{fmtNum(b.sharpe, 2)}</td>
                    <td className="num hide-sm">{b.trades ?? "—"}</td>
                    <td className={`num hide-sm ${pnlClass(b.benchmark_return_pct)}`}>{fmtPct(b.benchmark_return_pct)}</td>
                    <td className="num">{fmtUsd(b.final_equity)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </div>
  );
}
