import { useMemo, useState } from "react";

import { api } from "../api";
import { LineChart } from "../components/charts";
import { Empty, ErrorNote, Section, Stat } from "../components/Notes";
import { fmtNum, fmtPct, fmtTime, fmtUsd, pnlClass } from "../format";
import { useLive } from "../live";
import { usePoll } from "../usePoll";

/** Drawdown in % of the running peak at each point (0 at a new high, negative below it). */
export function drawdownCurve(points: [number, number][]): [number, number][] {
  let peak = -Infinity;
  return points.map(([t, v]) => {
    peak = Math.max(peak, v);
    return [t, peak > 0 ? (v / peak - 1) * 100 : 0];
  });
}

export function EquityPage() {
  const [scope, setScope] = useState("paper");
  const { update, samples } = useLive();
  const eq = usePoll(() => api.equity(scope, 2000), [scope], 15_000);

  const stored = useMemo<[number, number][]>(() => (eq.data?.curve ?? []).map((p) => [p.timestamp, p.equity]), [eq.data]);
  // Without journal snapshots (no database, or a fresh system) the curve is the live total since this page opened.
  const session = useMemo<[number, number][]>(() => samples.map((s) => [s.ts, s.equity]), [samples]);
  const useSession = stored.length < 2 && scope === "paper";
  const curve = useSession ? session : stored;
  const dd = useMemo(() => drawdownCurve(curve), [curve]);
  const maxDd = dd.reduce((m, p) => Math.min(m, p[1]), 0);
  const runnerIds = useMemo(() => update?.strategies.flatMap((s) => s.runners.map((r) => r.runner_id)) ?? [], [update]);
  const data = eq.data;

  return (
    <div className="page" data-testid="page-equity">
      <div className="page-head">
        <h1>Equity and drawdown</h1>
        <select value={scope} onChange={(e) => setScope(e.target.value)} aria-label="scope" data-testid="equity-scope">
          <option value="paper">all paper runners</option>
          {runnerIds.map((r) => (
            <option key={r} value={r}>{r}</option>
          ))}
        </select>
      </div>
      <ErrorNote error={eq.error} what="equity" />
      {data ? (
        <div className="stats">
          <Stat label="initial capital" value={fmtUsd(data.initial_capital)} />
          <Stat label="equity now" value={fmtUsd(data.total_equity)} />
          <Stat label="return" value={fmtPct(data.return_pct)} className={pnlClass(data.return_pct)} />
          <Stat label="max drawdown (curve)" value={fmtPct(maxDd)} className={pnlClass(maxDd)} />
          <Stat label="points" value={curve.length} />
        </div>
      ) : null}
      <Section title={useSession ? "Equity (live, since this page opened — no journal snapshots yet)" : `Equity (${scope} snapshots)`}>
        <LineChart
          series={[{ name: "equity", points: curve, color: "#4ea1ff" }]}
          baseline={scope === "paper" ? data?.initial_capital : undefined}
          xFormat={useSession ? (t) => fmtTime(t).slice(11) : fmtTime}
          testId="equity-chart"
        />
      </Section>
      <Section title="Drawdown from the running peak">
        <LineChart
          series={[{ name: "drawdown %", points: dd, color: "#e74c3c" }]}
          baseline={0}
          area
          yFormat={(v) => `${fmtNum(v, 1)}%`}
          xFormat={useSession ? (t) => fmtTime(t).slice(11) : fmtTime}
          testId="drawdown-chart"
        />
      </Section>
      <Section title="Runners">
        {data && data.runners.length ? (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr><th>Runner</th><th className="num">Equity</th><th className="num">Cash</th><th className="num">Margin</th></tr>
              </thead>
              <tbody>
                {data.runners.map((r) => (
                  <tr key={r.runner_id}>
                    <td><button type="button" className="link" onClick={() => setScope(r.runner_id)}>{r.runner_id}</button></td>
                    <td className="num">{fmtUsd(r.equity)}</td><td className="num">{fmtUsd(r.capital)}</td><td className="num">{fmtUsd(r.used_margin)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <Empty>no runner</Empty>
        )}
      </Section>
    </div>
  );
}
