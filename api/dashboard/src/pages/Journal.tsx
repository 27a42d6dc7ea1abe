import { useMemo, useState } from "react";

import { api, type Side } from "../api";
import { BarChart, LineChart } from "../components/charts";
import { Empty, ErrorNote, Section, Stat } from "../components/Notes";
import { fmtFrac, fmtNum, fmtPrice, fmtTime, fmtUsd, pnlClass } from "../format";
import { useLive } from "../live";
import { usePoll } from "../usePoll";
import { TradesTable } from "./Positions";

const PAGE = 50;

export function JournalPage() {
  const { update } = useLive();
  const runnerIds = useMemo(() => update?.strategies.flatMap((s) => s.runners.map((r) => r.runner_id)) ?? [], [update]);
  const [runner, setRunner] = useState("");
  const [side, setSide] = useState<"" | Side>("");
  const [reason, setReason] = useState("");
  const [sort, setSort] = useState("-exit_ts");
  const [offset, setOffset] = useState(0);
  const [eventOffset, setEventOffset] = useState(0);
  const filter = { runner_id: runner || undefined };

  const perf = usePoll(() => api.performance(filter), [runner], 20_000);
  const daily = usePoll(() => api.dailyPnl({ ...filter, days: 90 }), [runner], 30_000);
  const trades = usePoll(
    () => api.trades({ ...filter, side: side || undefined, reason: reason.trim() || undefined, sort, limit: PAGE, offset }),
    [runner, side, reason, sort, offset],
    15_000,
  );
  const events = usePoll(() => api.events({ ...filter, limit: PAGE, offset: eventOffset }), [runner, eventOffset], 15_000);
  const t = perf.data?.totals;

  return (
    <div className="page" data-testid="page-journal">
      <div className="page-head">
        <h1>Journal</h1>
        <select value={runner} onChange={(e) => { setRunner(e.target.value); setOffset(0); setEventOffset(0); }} aria-label="runner" data-testid="journal-runner">
          <option value="">all runners</option>
          {runnerIds.map((r) => <option key={r} value={r}>{r}</option>)}
        </select>
      </div>
      <ErrorNote error={perf.error} what="performance" />
      {t ? (
        <div className="stats">
          <Stat label="trades" value={t.trades} />
          <Stat label="win rate" value={fmtFrac(t.win_rate)} />
          <Stat label="net PnL" value={fmtUsd(t.net_pnl, true)} className={pnlClass(t.net_pnl)} />
          <Stat label="profit factor" value={fmtNum(t.profit_factor, 2)} />
          <Stat label="fees" value={fmtUsd(t.fees)} />
          <Stat label="max drawdown" value={fmtUsd(-t.max_drawdown)} className={pnlClass(-t.max_drawdown)} />
        </div>
      ) : null}
      <Section title="Daily PnL (UTC days with trades)">
        <ErrorNote error={daily.error} what="daily PnL" />
        <BarChart bars={(daily.data ?? []).map((d) => ({ label: d.day.slice(5), value: d.net_pnl }))} testId="daily-pnl-chart" />
        {daily.data && daily.data.length > 1 ? (
          <LineChart series={[{ name: "cumulative", points: daily.data.map((d) => [Date.parse(`${d.day}T00:00:00Z`), d.cumulative_pnl]) }]} baseline={0} height={150} yFormat={(v) => fmtNum(v, 0)} />
        ) : null}
      </Section>
      <Section
        title={`Trades${trades.data ? ` (${trades.data.total.toLocaleString("en-US")})` : ""}`}
        actions={
          <div className="controls">
            <select value={side} onChange={(e) => { setSide(e.target.value as "" | Side); setOffset(0); }} aria-label="side"><option value="">both sides</option><option value="long">long</option><option value="short">short</option></select>
            <input value={reason} onChange={(e) => { setReason(e.target.value); setOffset(0); }} placeholder="reason (tp, sl…)" aria-label="reason" size={12} />
            <select value={sort} onChange={(e) => setSort(e.target.value)} aria-label="sort">
              <option value="-exit_ts">newest</option><option value="exit_ts">oldest</option><option value="-net_pnl">best</option><option value="net_pnl">worst</option>
            </select>
          </div>
        }
      >
        <ErrorNote error={trades.error} what="trades" />
        {trades.data && trades.data.items.length ? <TradesTable trades={trades.data.items} liveIds={new Set()} testId="journal-trades" /> : trades.data ? <Empty>no trade matches</Empty> : null}
        {trades.data ? <Pager total={trades.data.total} offset={offset} onChange={setOffset} /> : null}
      </Section>
      <Section title={`Position events${events.data ? ` (${events.data.total.toLocaleString("en-US")})` : ""}`}>
        <ErrorNote error={events.error} what="events" />
        {events.data && events.data.items.length ? (
          <div className="table-wrap">
            <table className="table" data-testid="journal-events">
              <thead><tr><th>Time</th><th>Runner</th><th>Kind</th><th>Side</th><th className="num">Price</th><th className="num hide-sm">Qty</th><th className="num hide-sm">Level</th><th>Reason</th></tr></thead>
              <tbody>
                {events.data.items.map((e) => (
                  <tr key={e.event_id}>
                    <td>{fmtTime(e.timestamp)}</td><td>{e.runner_id}</td><td>{e.kind}</td><td>{e.side}</td><td className="num">{fmtPrice(e.price)}</td>
                    <td className="num hide-sm">{e.qty.toPrecision(5)}</td><td className="num hide-sm">{e.level ?? "—"}</td><td>{e.reason ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : events.data ? <Empty>no event</Empty> : null}
        {events.data ? <Pager total={events.data.total} offset={eventOffset} onChange={setEventOffset} /> : null}
      </Section>
    </div>
  );
}

function Pager({ total, offset, onChange }: { total: number; offset: number; onChange: (o: number) => void }) {
  if (total <= PAGE) return null;
  return (
    <div className="pager">
      <button type="button" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - PAGE))}>‹ newer</button>
      <span className="muted small">{offset + 1}–{Math.min(total, offset + PAGE)} of {total.toLocaleString("en-US")}</span>
      <button type="button" disabled={offset + PAGE >= total} onClick={() => onChange(offset + PAGE)}>older ›</button>
    </div>
  );
}
