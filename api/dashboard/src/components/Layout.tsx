import { NavLink, Outlet } from "react-router-dom";

import { fmtPct, fmtUsd, pnlClass } from "../format";
import { useLive } from "../live";
import { ConnectionIndicator } from "./ConnectionIndicator";

export const NAV: { to: string; label: string; id: string }[] = [
  { to: "/", label: "Scanner", id: "scanner" },
  { to: "/grid", label: "Grid detail", id: "grid" },
  { to: "/equity", label: "Equity", id: "equity" },
  { to: "/positions", label: "Positions", id: "positions" },
  { to: "/arena", label: "Arena", id: "arena" },
  { to: "/wfo", label: "WFO explorer", id: "wfo" },
  { to: "/portfolio", label: "Portfolio", id: "portfolio" },
  { to: "/journal", label: "Journal", id: "journal" },
  { to: "/logs", label: "Logs", id: "logs" },
  { to: "/settings", label: "Settings", id: "settings" },
];

/** Totals of the latest update: what matters on every page. */
function StatusStrip() {
  const { update } = useLive();
  if (!update) return null;
  const runners = update.strategies.flatMap((s) => s.runners);
  const initial = runners.reduce((a, r) => a + r.initial_capital, 0);
  const equity = runners.reduce((a, r) => a + r.equity, 0);
  const ret = initial > 0 ? (equity / initial - 1) * 100 : 0;
  const killed = update.kill_switch?.global_active || update.executor?.kill_switch_active;
  return (
    <div className="status-strip" data-testid="status-strip">
      <span>equity <b>{fmtUsd(equity)}</b></span>
      <span className={pnlClass(ret)}>{fmtPct(ret)}</span>
      <span>{update.simulator_positions.length} open</span>
      <span>{update.executor ? update.executor.mode : "paper"}</span>
      {killed ? <span className="badge badge-bad">kill switch</span> : null}
      {update.unavailable.length ? <span className="muted" title="sections the running system did not answer this tick">unavailable: {update.unavailable.join(", ")}</span> : null}
    </div>
  );
}

export function Layout() {
  const { alerts } = useLive();
  return (
    <div className="app">
      <aside className="sidebar">
        <div className="brand">
          <span className="brand-name">Scalp Radar</span>
          <ConnectionIndicator />
        </div>
        <nav className="nav" aria-label="pages">
          {NAV.map((n) => (
            <NavLink key={n.to} to={n.to} end={n.to === "/"} data-testid={`nav-${n.id}`} className={({ isActive }) => (isActive ? "active" : "")}>
              {n.label}
              {n.id === "logs" && alerts.length ? <span className="nav-badge">{alerts.length}</span> : null}
            </NavLink>
          ))}
        </nav>
      </aside>
      <main className="main">
        <StatusStrip />
        <Outlet />
      </main>
    </div>
  );
}
