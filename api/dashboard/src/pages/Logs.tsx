import { useMemo, useState } from "react";

import { api, type LogLevel } from "../api";
import { Empty, ErrorNote, Section } from "../components/Notes";
import { fmtTime } from "../format";
import { useLive } from "../live";
import { usePoll } from "../usePoll";

const LEVELS: LogLevel[] = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];

export function LogsPage() {
  const { alerts } = useLive();
  const [level, setLevel] = useState<LogLevel>("INFO");
  const [text, setText] = useState("");
  const [follow, setFollow] = useState(true);
  const logs = usePoll(() => api.logs(500, level), [level], follow ? 5_000 : 0);
  const lines = useMemo(() => {
    const needle = text.trim().toLowerCase();
    const all = [...(logs.data ?? [])].reverse(); // newest first
    return needle ? all.filter((l) => `${l.logger} ${l.message}`.toLowerCase().includes(needle)) : all;
  }, [logs.data, text]);

  return (
    <div className="page" data-testid="page-logs">
      <h1>Logs</h1>
      <Section title={`Alerts pushed since this page opened (${alerts.length})`}>
        {alerts.length ? (
          <ul className="alerts" data-testid="alerts">
            {alerts.map((a, i) => (
              <li key={`${a.timestamp}-${i}`} className={`alert alert-${a.severity}`}>
                <span className="muted small">{fmtTime(a.timestamp)}</span> <b>{a.kind}</b> {a.message}
              </li>
            ))}
          </ul>
        ) : (
          <Empty>no alert</Empty>
        )}
      </Section>
      <Section
        title="System log"
        actions={
          <div className="controls">
            <select value={level} onChange={(e) => setLevel(e.target.value as LogLevel)} aria-label="minimum level" data-testid="log-level">
              {LEVELS.map((l) => <option key={l}>{l}</option>)}
            </select>
            <input value={text} onChange={(e) => setText(e.target.value)} placeholder="filter" aria-label="filter" size={14} />
            <label className="check"><input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} />follow</label>
          </div>
        }
      >
        <ErrorNote error={logs.error} what="logs" />
        {lines.length ? (
          <div className="log" data-testid="log-lines">
            {lines.map((l, i) => (
              <div key={`${l.timestamp}-${i}`} className={`log-line log-${l.level.toLowerCase()}`}>
                <span className="log-time">{fmtTime(l.timestamp)}</span>
                <span className="log-level">{l.level}</span>
                <span className="log-logger">{l.logger}</span>
                <span className="log-msg">{l.message}</span>
              </div>
            ))}
          </div>
        ) : logs.data ? <Empty>no line at {level} or above</Empty> : null}
      </Section>
    </div>
  );
}
