import { useMemo } from "react";
import { Link } from "react-router-dom";

import type { GridState, RunnerStatus } from "../api";
import { Sparkline } from "../components/charts";
import { Empty, Section } from "../components/Notes";
import { baseAsset, fmtPct, fmtPrice, fmtUsd, pnlClass } from "../format";
import { useLive } from "../live";

export const gridLink = (runnerId: string) => `/grid/${encodeURIComponent(runnerId)}`;

/** Filled levels as solid dots, pending ones as rings: a grid's state at a glance. */
export function LevelDots({ grid }: { grid: GridState | undefined }) {
  if (!grid) return null;
  const total = grid.filled_levels.length + grid.pending_levels.length;
  const n = Math.max(total, grid.filled_levels.length);
  if (n === 0) return <span className="muted">—</span>;
  return (
    <span className="dots" title={`${grid.filled_levels.length} of ${n} levels filled`}>
      {Array.from({ length: n }, (_, i) => (
        <i key={i} className={i < grid.filled_levels.length ? `dot-on dot-${grid.side}` : "dot-off"} />
      ))}
    </span>
  );
}

function RunnerChip({ runner, grid }: { runner: RunnerStatus; grid: GridState | undefined }) {
  const side = runner.stopped ? "stopped" : (grid?.side ?? "flat");
  return (
    <Link to={gridLink(runner.runner_id)} className={`chip chip-${side}`} data-testid="scanner-runner" title={runner.stopped ? runner.stop_reason : `${runner.runner_id}: ${side}`}>
      <span className="chip-name">{runner.strategy}</span>
      <LevelDots grid={grid} />
      {grid?.unrealized_pnl !== null && grid?.unrealized_pnl !== undefined ? (
        <span className={pnlClass(grid.unrealized_pnl)}>{fmtUsd(grid.unrealized_pnl, true)}</span>
      ) : null}
      {runner.stopped ? <span className="badge badge-bad">stopped</span> : null}
    </Link>
  );
}

export function ScannerPage() {
  const { update, samples, firstPrices } = useLive();

  const rows = useMemo(() => {
    if (!update) return [];
    const runners = update.strategies.flatMap((s) => s.runners);
    const grids = new Map(update.grid_state.map((g) => [g.runner_id, g]));
    const symbols = new Set<string>([...Object.keys(update.prices), ...runners.map((r) => r.symbol)]);
    return [...symbols].sort().map((symbol) => {
      const price = update.prices[symbol] ?? grids.get(runners.find((r) => r.symbol === symbol)?.runner_id ?? "")?.price ?? null;
      const first = firstPrices[symbol];
      const change = price !== null && first ? (price / first - 1) * 100 : null;
      const mine = runners.filter((r) => r.symbol === symbol);
      const history = samples.slice(-120).map((s) => s.prices[symbol]).filter((p): p is number => p !== undefined);
      const upnl = mine.reduce((a, r) => a + (grids.get(r.runner_id)?.unrealized_pnl ?? 0), 0);
      const open = mine.filter((r) => (grids.get(r.runner_id)?.legs.length ?? 0) > 0).length;
      return { symbol, price, change, runners: mine, grids, history, upnl, open };
    });
  }, [update, samples, firstPrices]);

  return (
    <div className="page" data-testid="page-scanner">
      <h1>Scanner</h1>
      <Section title="Symbols" actions={<span className="muted small">change since this page opened</span>}>
        {!update ? (
          <Empty>waiting for the first update from /ws/live…</Empty>
        ) : rows.length === 0 ? (
          <Empty>no symbols: the system runs no strategy yet</Empty>
        ) : (
          <div className="table-wrap">
            <table className="table" data-testid="scanner-table">
              <thead>
                <tr>
                  <th>Symbol</th>
                  <th className="num">Price</th>
                  <th className="num">Change</th>
                  <th className="hide-sm">Trend</th>
                  <th>Strategies · grid</th>
                  <th className="num hide-sm">Unrealized</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.symbol} data-testid="scanner-row" data-symbol={r.symbol}>
                    <td>
                      <b>{baseAsset(r.symbol)}</b>
                      <div className="muted small hide-sm">{r.symbol}</div>
                    </td>
                    <td className="num" data-testid="scanner-price">{fmtPrice(r.price)}</td>
                    <td className={`num ${pnlClass(r.change)}`}>{fmtPct(r.change)}</td>
                    <td className="hide-sm"><Sparkline values={r.history} /></td>
                    <td>
                      <div className="chips">
                        {r.runners.length === 0 ? <span className="muted">no strategy</span> : null}
                        {r.runners.map((runner) => (
                          <RunnerChip key={runner.runner_id} runner={runner} grid={r.grids.get(runner.runner_id)} />
                        ))}
                      </div>
                    </td>
                    <td className={`num hide-sm ${pnlClass(r.upnl)}`}>{r.open ? fmtUsd(r.upnl, true) : "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      {update ? (
        <Section title="Strategies">
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th>Strategy</th>
                  <th className="num">Symbols</th>
                  <th className="num">Candles</th>
                  <th className="num">Events</th>
                  <th className="num">Equity</th>
                  <th className="num">Return</th>
                </tr>
              </thead>
              <tbody>
                {update.strategies.map((s) => {
                  const eq = s.runners.reduce((a, r) => a + r.equity, 0);
                  const init = s.runners.reduce((a, r) => a + r.initial_capital, 0);
                  const ret = init > 0 ? (eq / init - 1) * 100 : null;
                  return (
                    <tr key={s.name}>
                      <td>{s.name}{s.restored ? <span className="muted small"> · restored</span> : null}</td>
                      <td className="num">{s.symbols.length}</td>
                      <td className="num">{s.candles.toLocaleString("en-US")}</td>
                      <td className="num">{s.events.toLocaleString("en-US")}</td>
                      <td className="num">{fmtUsd(eq)}</td>
                      <td className={`num ${pnlClass(ret)}`}>{fmtPct(ret)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </Section>
      ) : null}
    </div>
  );
}
