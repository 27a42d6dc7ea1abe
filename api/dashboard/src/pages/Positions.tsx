import { useMemo } from "react";
import { Link } from "react-router-dom";

import { api, type Trade } from "../api";
import { Empty, ErrorNote, Section, Stat } from "../components/Notes";
import { fmtPrice, fmtTime, fmtUsd, pnlClass } from "../format";
import { useLive } from "../live";
import { usePoll } from "../usePoll";
import { gridLink } from "./Scanner";

export function TradesTable({ trades, liveIds, testId = "trades-table" }: { trades: Trade[]; liveIds: Set<string>; testId?: string }) {
  return (
    <div className="table-wrap">
      <table className="table" data-testid={testId}>
        <thead>
          <tr>
            <th>Exit</th><th>Runner</th><th>Side</th><th className="num">Entry</th><th className="num">Exit px</th>
            <th className="num hide-sm">Legs</th><th>Reason</th><th className="num">Net PnL</th>
          </tr>
        </thead>
        <tbody>
          {trades.map((t) => (
            <tr key={t.trade_id} data-testid="trade-row" data-trade-id={t.trade_id} data-live={liveIds.has(t.trade_id) ? "true" : "false"} className={liveIds.has(t.trade_id) ? "row-new" : ""}>
              <td>{fmtTime(t.exit_ts)}</td>
              <td><Link to={gridLink(t.runner_id)}>{t.runner_id}</Link></td>
              <td>{t.side}</td>
              <td className="num">{fmtPrice(t.entry_price)}</td>
              <td className="num">{fmtPrice(t.exit_price)}</td>
              <td className="num hide-sm">{t.positions ?? "—"}</td>
              <td>{t.reason}</td>
              <td className={`num ${pnlClass(t.net_pnl)}`}>{fmtUsd(t.net_pnl, true)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function PositionsPage() {
  const { update, trades: live } = useLive();
  const recent = usePoll(() => api.trades({ limit: 25 }), [], 10_000);
  const positions = update?.simulator_positions ?? [];
  const exposure = positions.reduce((a, p) => a + p.notional, 0);
  const upnl = positions.reduce((a, p) => a + (p.unrealized_pnl ?? 0), 0);

  const liveIds = useMemo(() => new Set(live.map((t) => t.trade_id)), [live]);
  const trades = useMemo(() => {
    const byId = new Map<string, Trade>();
    for (const t of recent.data?.items ?? []) byId.set(t.trade_id, t);
    for (const t of live) byId.set(t.trade_id, t);
    // Pushed trades first (newest on top), then the journal's.
    return [...byId.values()].sort((a, b) => Number(liveIds.has(b.trade_id)) - Number(liveIds.has(a.trade_id)) || b.exit_ts - a.exit_ts).slice(0, 50);
  }, [recent.data, live, liveIds]);

  return (
    <div className="page" data-testid="page-positions">
      <h1>Active positions</h1>
      <div className="stats">
        <Stat label="open positions" value={positions.length} testId="positions-count" />
        <Stat label="exposure" value={fmtUsd(exposure)} />
        <Stat label="unrealized" value={fmtUsd(upnl, true)} className={pnlClass(upnl)} />
        <Stat label="trades pushed live" value={live.length} testId="live-trade-count" />
        {update?.executor ? <Stat label="executor" value={`${update.executor.mode} · ${update.executor.fills} fills`} /> : null}
      </div>
      <Section title="Open positions">
        {!update ? (
          <Empty>waiting for the first update…</Empty>
        ) : positions.length === 0 ? (
          <Empty>no open position</Empty>
        ) : (
          <div className="table-wrap">
            <table className="table" data-testid="positions-table">
              <thead>
                <tr>
                  <th>Runner</th><th>Side</th><th className="num">Qty</th><th className="num">Avg entry</th><th className="num">Price</th>
                  <th className="num">Notional</th><th className="num">Unrealized</th><th className="hide-sm">Opened</th>
                </tr>
              </thead>
              <tbody>
                {positions.map((p) => (
                  <tr key={p.runner_id} data-testid="position-row">
                    <td><Link to={gridLink(p.runner_id)}>{p.runner_id}</Link></td>
                    <td><span className={`badge badge-${p.side}`}>{p.side}</span></td>
                    <td className="num">{p.quantity.toPrecision(5)}</td>
                    <td className="num">{fmtPrice(p.avg_entry)}</td>
                    <td className="num">{fmtPrice(p.price)}</td>
                    <td className="num">{fmtUsd(p.notional)}</td>
                    <td className={`num ${pnlClass(p.unrealized_pnl)}`}>{fmtUsd(p.unrealized_pnl, true)}</td>
                    <td className="hide-sm">{fmtTime(p.opened_ts)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      <Section title="Latest trades" actions={<span className="muted small">highlighted: pushed live over /ws/live</span>}>
        <ErrorNote error={recent.error} what="journal" />
        {trades.length ? <TradesTable trades={trades} liveIds={liveIds} /> : <Empty>no closed trade yet</Empty>}
      </Section>
    </div>
  );
}
