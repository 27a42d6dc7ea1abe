import { useState, type FormEvent } from "react";

import { api, ApiError } from "../api";
import { Empty, ErrorNote, Section, Stat } from "../components/Notes";
import { fmtDuration, fmtTime } from "../format";
import { useLive } from "../live";
import { getApiKey, maskedKey, setApiKey } from "../settings";
import { usePoll } from "../usePoll";

export function SettingsPage() {
  const { update } = useLive();
  const [stored, setStored] = useState(getApiKey());
  const [draft, setDraft] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const health = usePoll(() => api.health(), [], 10_000);
  const data = usePoll(() => api.dataStatus(), [], 30_000);

  const save = (e: FormEvent) => {
    e.preventDefault();
    setApiKey(draft);
    setStored(getApiKey());
    setDraft("");
    setMessage(draft.trim() ? "key saved in this browser" : "key removed");
  };
  const act = async (what: string, fn: () => Promise<unknown>) => {
    setError(null);
    setMessage(null);
    if (!window.confirm(`${what}?`)) return;
    try {
      await fn();
      setMessage(`${what}: done`);
    } catch (err) {
      setError(err instanceof ApiError ? err.detail : String(err));
    }
  };

  const ks = update?.kill_switch;
  const ex = update?.executor;
  const h = health.data;
  return (
    <div className="page" data-testid="page-settings">
      <h1>Settings</h1>
      <Section title="API key (write actions)">
        <form className="form" onSubmit={save}>
          <label className="wide">
            X-API-Key — the server's RADAR_API_KEY; kept in this browser's storage only
            <input type="password" autoComplete="off" value={draft} onChange={(e) => setDraft(e.target.value)} placeholder={stored ? `stored: ${maskedKey(stored)}` : "not set"} data-testid="api-key-input" />
          </label>
          <div className="form-actions wide">
            <button type="submit" className="primary" data-testid="api-key-save">Save</button>
            <button type="button" onClick={() => { setApiKey(""); setStored(""); setMessage("key removed"); }}>Forget</button>
            <span className="muted small" data-testid="api-key-state">{stored ? `key set (${maskedKey(stored)})` : "no key: launching, applying and resets will be refused"}</span>
          </div>
        </form>
        {message ? <p className="note ok">{message}</p> : null}
        {error ? <p className="note error" role="alert">{error}</p> : null}
      </Section>
      <Section title="Kill switches">
        {ks ? (
          <>
            <div className="stats">
              <Stat label="global" value={!ks.global_available ? "not wired" : ks.global_active ? "ACTIVE" : "armed"} className={ks.global_active ? "neg" : ""} />
              <Stat label="frozen until" value={fmtTime(ks.frozen_until)} />
              <Stat label="drawdown" value={ks.drawdown_pct === null ? "—" : `${ks.drawdown_pct.toFixed(1)}%`} />
              <Stat label="stopped runners" value={ks.runners.filter((r) => r.stopped).length} />
            </div>
            <div className="controls">
              <button type="button" onClick={() => act("reset the global kill switch and every runner", () => api.resetKillSwitch())} data-testid="reset-global">Reset global + all runners</button>
            </div>
            {ks.runners.filter((r) => r.stopped).map((r) => (
              <div key={r.runner_id} className="row-line">
                <span>{r.runner_id}: <span className="neg">{r.reason}</span></span>
                <button type="button" onClick={() => act(`reset ${r.runner_id}`, () => api.resetKillSwitch(r.runner_id))}>Reset</button>
              </div>
            ))}
          </>
        ) : (
          <Empty>kill switch state not available</Empty>
        )}
        {ex ? (
          <div className="row-line">
            <span>executor ({ex.mode}{ex.live_trading ? ", LIVE" : ""}): {ex.kill_switch_active ? <span className="neg">kill switch active</span> : "running"} · {ex.fills} fills · {ex.open_positions} open</span>
            <button type="button" onClick={() => act("reset the executor kill switch", api.resetExecutorKillSwitch)} disabled={!ex.kill_switch_active}>Reset executor</button>
          </div>
        ) : null}
      </Section>
      <Section title="Server">
        <ErrorNote error={health.error} what="health" />
        {h ? (
          <div className="stats">
            <Stat label="version" value={h.version} />
            <Stat label="system client" value={h.client} />
            <Stat label="uptime" value={fmtDuration(h.uptime_s * 1000)} />
            <Stat label="live clients" value={h.ws_clients} />
            <Stat label="database" value={h.database ? "configured" : "none"} />
          </div>
        ) : null}
      </Section>
      <Section title="Market data">
        <ErrorNote error={data.error} what="data" />
        {data.data ? (
          <>
            <p className="small">
              feed: {data.data.feed ? `${data.data.feed.connected ? "connected" : "disconnected"}, ${data.data.feed.reconnects} reconnects, last message ${fmtTime(data.data.feed.last_message_ms)}` : `not available (${data.data.feed_error ?? "?"})`}
            </p>
            {data.data.series.length ? (
              <div className="table-wrap">
                <table className="table">
                  <thead><tr><th>Exchange</th><th>Symbol</th><th>TF</th><th>From</th><th>To</th><th className="num">Rows</th><th className="num">Gaps</th></tr></thead>
                  <tbody>
                    {data.data.series.map((s) => (
                      <tr key={`${s.exchange}${s.symbol}${s.timeframe}`}>
                        <td>{s.exchange}</td><td>{s.symbol}</td><td>{s.timeframe}</td><td>{fmtTime(s.first_ms)}</td><td>{fmtTime(s.last_ms)}</td>
                        <td className="num">{s.rows.toLocaleString("en-US")}</td><td className="num">{s.gaps}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : <Empty>no stored candle series</Empty>}
          </>
        ) : null}
      </Section>
    </div>
  );
}
