import { useState } from "react";
import { Link } from "react-router-dom";

import { api, type RankBy } from "../api";
import { BarChart } from "../components/charts";
import { Empty, ErrorNote, Section } from "../components/Notes";
import { fmtFrac, fmtNum, fmtPct, fmtUsd, pnlClass } from "../format";
import { useLive } from "../live";
import { usePoll } from "../usePoll";
import { gridLink } from "./Scanner";

const ORDERS: { by: RankBy; label: string }[] = [
  { by: "return", label: "return" },
  { by: "drawdown", label: "drawdown" },
  { by: "trades", label: "trades" },
  { by: "win_rate", label: "win rate" },
];

export function ArenaPage() {
  const [by, setBy] = useState<RankBy>("return");
  const { update } = useLive();
  // The live update carries the ranking by return; the other orders are asked for.
  const polled = usePoll(() => (by === "return" ? Promise.resolve(null) : api.ranking(by)), [by], 10_000);
  const ranking = by === "return" ? (update?.ranking ?? []) : (polled.data ?? []);

  return (
    <div className="page" data-testid="page-arena">
      <div className="page-head">
        <h1>Arena</h1>
        <div className="segmented" role="group" aria-label="rank by">
          {ORDERS.map((o) => (
            <button key={o.by} type="button" className={o.by === by ? "active" : ""} onClick={() => setBy(o.by)}>{o.label}</button>
          ))}
        </div>
      </div>
      <ErrorNote error={polled.error} what="ranking" />
      <Section title="Return by runner">
        <BarChart bars={ranking.map((r) => ({ label: r.symbol.split("/")[0], value: r.return_pct }))} yFormat={(v) => `${fmtNum(v, 1)}%`} testId="arena-chart" />
      </Section>
      <Section title={`Ranking by ${ORDERS.find((o) => o.by === by)?.label}`}>
        {ranking.length === 0 ? (
          <Empty>no runner ranked yet</Empty>
        ) : (
          <div className="table-wrap">
            <table className="table" data-testid="arena-table">
              <thead>
                <tr>
                  <th className="num">#</th><th>Runner</th><th className="num">Equity</th><th className="num">Return</th>
                  <th className="num">Max DD</th><th className="num">Trades</th><th className="num">Win rate</th><th className="num">Net PnL</th>
                </tr>
              </thead>
              <tbody>
                {ranking.map((r) => (
                  <tr key={r.runner_id} data-testid="arena-row">
                    <td className="num">{r.rank}</td>
                    <td><Link to={gridLink(r.runner_id)}>{r.runner_id}</Link></td>
                    <td className="num">{fmtUsd(r.equity)}</td>
                    <td className={`num ${pnlClass(r.return_pct)}`}>{fmtPct(r.return_pct)}</td>
                    <td className="num">{fmtPct(-r.max_drawdown_pct)}</td>
                    <td className="num">{r.trades}</td>
                    <td className="num">{fmtFrac(r.win_rate)}</td>
                    <td className={`num ${pnlClass(r.net_pnl)}`}>{fmtUsd(r.net_pnl, true)}</td>
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
