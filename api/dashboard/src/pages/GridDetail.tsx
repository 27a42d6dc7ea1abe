import { useMemo } from "react";
import { useNavigate, useParams } from "react-router-dom";

import { api, type Trade } from "../api";
import { buildCandles, fromStored, mergeCandles, snapToCandle } from "../candles";
import { CandleChart, type MarkerSpec, type PriceLineSpec } from "../components/CandleChart";
import { Empty, ErrorNote, Section, Stat } from "../components/Notes";
import { fmtPct, fmtPrice, fmtTime, fmtUsd, pnlClass } from "../format";
import { useLive } from "../live";
import { usePoll } from "../usePoll";

const STORED_CANDLES = 500; // about three weeks of 1h candles: enough to see the grid's recent trades in context

export function GridDetailPage() {
  const { runnerId: rawId } = useParams();
  const navigate = useNavigate();
  const { update, samples, trades: liveTrades } = useLive();

  const runners = useMemo(() => update?.strategies.flatMap((s) => s.runners) ?? [], [update]);
  const runnerId = rawId ? decodeURIComponent(rawId) : (update?.grid_state.find((g) => g.legs.length > 0)?.runner_id ?? runners[0]?.runner_id);
  const runner = runners.find((r) => r.runner_id === runnerId);
  const grid = update?.grid_state.find((g) => g.runner_id === runnerId);
  const symbol = runner?.symbol ?? grid?.symbol ?? "";
  // the series the runner trades (the feed stores one per symbol and timeframe)
  const timeframe = update?.strategies.find((s) => s.runners.some((r) => r.runner_id === runnerId))?.timeframe ?? "1h";

  const journal = usePoll(() => (runnerId ? api.trades({ runner_id: runnerId, limit: 200 }) : Promise.resolve(null)), [runnerId], 15_000);
  const trades: Trade[] = useMemo(() => {
    const byId = new Map<string, Trade>();
    for (const t of journal.data?.items ?? []) byId.set(t.trade_id, t);
    for (const t of liveTrades) if (t.runner_id === runnerId) byId.set(t.trade_id, t);
    return [...byId.values()].sort((a, b) => b.exit_ts - a.exit_ts);
  }, [journal.data, liveTrades, runnerId]);

  const stored = usePoll(
    () => (symbol ? api.candles({ symbol, timeframe, limit: STORED_CANDLES }) : Promise.resolve(null)),
    [symbol, timeframe],
    15_000,
  );
  // usePoll keeps the previous answer while a new symbol loads: only use an answer for this symbol.
  const storedForSymbol = stored.data && stored.data.symbol === symbol && stored.data.timeframe === timeframe ? stored.data : null;
  const storedCandles = useMemo(() => (storedForSymbol ? fromStored(storedForSymbol.candles) : []), [storedForSymbol]);
  const liveCandles = useMemo(() => (runnerId && symbol ? buildCandles(samples, runnerId, symbol) : []), [samples, runnerId, symbol]);
  // Wait for the first stored answer (or its error) before drawing: the chart fits its view once, and a fit
  // on a few live candles would leave the history that arrives next out of view.
  const storedSettled = storedForSymbol !== null || stored.error !== null;
  const candles = useMemo(
    () => (storedSettled ? mergeCandles(storedCandles, liveCandles) : []),
    [storedSettled, storedCandles, liveCandles],
  );

  const lines = useMemo<PriceLineSpec[]>(() => {
    if (!grid) return [];
    const out: PriceLineSpec[] = [];
    grid.pending_levels.forEach((p, i) => out.push({ price: p, color: "#4ea1ff", title: `level ${i + 1}`, dashed: true }));
    for (const leg of grid.legs) out.push({ price: leg.entry_price, color: "#7fb8ff", title: `leg ${leg.level}` });
    if (grid.avg_entry !== null) out.push({ price: grid.avg_entry, color: "#f5a524", title: "avg entry", width: 2 });
    if (grid.tp_price !== null) out.push({ price: grid.tp_price, color: "#2ecc71", title: "TP", width: 2 });
    if (grid.sl_price !== null) out.push({ price: grid.sl_price, color: "#e74c3c", title: "SL", width: 2 });
    return out;
  }, [grid]);

  const markers = useMemo<MarkerSpec[]>(() => {
    const out: MarkerSpec[] = [];
    for (const t of trades) {
      const entry = snapToCandle(candles, t.entry_ts);
      const exit = snapToCandle(candles, t.exit_ts);
      if (entry !== null) out.push({ time: entry, kind: "entry", text: "in" });
      if (exit !== null) out.push({ time: exit, kind: t.net_pnl >= 0 ? "exit-win" : "exit-loss", text: `${t.reason} ${fmtUsd(t.net_pnl, true)}` });
    }
    for (const leg of grid?.legs ?? []) {
      const at = snapToCandle(candles, leg.entry_ts);
      if (at !== null) out.push({ time: at, kind: "entry", text: `L${leg.level}` });
    }
    return out;
  }, [trades, candles, grid]);

  return (
    <div className="page" data-testid="page-grid">
      <div className="page-head">
        <h1>Grid detail</h1>
        <select
          value={runnerId ?? ""}
          onChange={(e) => navigate(`/grid/${encodeURIComponent(e.target.value)}`)}
          data-testid="grid-runner-select"
          aria-label="runner"
        >
          {runners.map((r) => (
            <option key={r.runner_id} value={r.runner_id}>{r.runner_id}</option>
          ))}
        </select>
      </div>
      {!update ? <Empty>waiting for the first update from /ws/live…</Empty> : null}
      {update && !runner && !grid ? <Empty>no runner {runnerId}</Empty> : null}
      {runner || grid ? (
        <>
          <div className="stats">
            <Stat label="side" value={runner?.stopped ? "stopped" : (grid?.side ?? "—")} />
            <Stat label="price" value={fmtPrice(grid?.price ?? update?.prices[symbol])} />
            <Stat label="avg entry" value={fmtPrice(grid?.avg_entry)} />
            <Stat label="TP / SL" value={`${fmtPrice(grid?.tp_price)} / ${fmtPrice(grid?.sl_price)}`} />
            <Stat label="unrealized" value={fmtUsd(grid?.unrealized_pnl, true)} className={pnlClass(grid?.unrealized_pnl)} />
            <Stat label="equity" value={fmtUsd(runner?.equity)} />
            <Stat label="return" value={fmtPct(runner?.return_pct)} className={pnlClass(runner?.return_pct)} />
          </div>
          {runner?.stopped ? <p className="note error">stopped: {runner.stop_reason}</p> : null}
          <Section title={`${symbol} — candles with grid levels, average entry, TP/SL and trades`}>
            <ErrorNote error={stored.error} what="stored candles" />
            <CandleChart candles={candles} lines={lines} markers={markers} testId="grid-chart" />
            <p className="muted small">
              History: the last {storedCandles.length} stored {timeframe} candles, reloaded every 15 s. Candles are built
              from the live prices only after the newest stored one, on the runner's candle clock; lines show the pending
              levels (dashed), filled legs, average entry, TP and SL; arrows mark entries and exits.
            </p>
          </Section>
          <Section title="Open legs">
            {grid && grid.legs.length ? (
              <div className="table-wrap">
                <table className="table" data-testid="grid-legs">
                  <thead>
                    <tr><th>Level</th><th className="num">Entry</th><th className="num">Qty</th><th className="num">Margin</th><th>Opened</th></tr>
                  </thead>
                  <tbody>
                    {grid.legs.map((l) => (
                      <tr key={`${l.level}-${l.entry_ts}`}>
                        <td>{l.level}</td><td className="num">{fmtPrice(l.entry_price)}</td><td className="num">{l.quantity.toPrecision(5)}</td>
                        <td className="num">{fmtUsd(l.margin)}</td><td>{fmtTime(l.entry_ts)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : (
              <Empty>flat: no open leg</Empty>
            )}
          </Section>
          <Section title="Trades of this runner">
            <ErrorNote error={journal.error} what="journal" />
            {trades.length ? (
              <div className="table-wrap">
                <table className="table">
                  <thead>
                    <tr><th>Exit</th><th className="num">Entry px</th><th className="num">Exit px</th><th className="num">Legs</th><th>Reason</th><th className="num">Net PnL</th></tr>
                  </thead>
                  <tbody>
                    {trades.slice(0, 20).map((t) => (
                      <tr key={t.trade_id}>
                        <td>{fmtTime(t.exit_ts)}</td><td className="num">{fmtPrice(t.entry_price)}</td><td className="num">{fmtPrice(t.exit_price)}</td>
                        <td className="num">{t.positions ?? "—"}</td><td>{t.reason}</td><td className={`num ${pnlClass(t.net_pnl)}`}>{fmtUsd(t.net_pnl, true)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : (
              <Empty>no closed trade yet</Empty>
            )}
          </Section>
        </>
      ) : null}
    </div>
  );
}
