import { useEffect, useState } from "react";

import { useLive } from "../live";

/** A dot and a word: live / connecting / reconnecting in N s. Clicking it retries at once. */
export function ConnectionIndicator() {
  const { connection, retryNow } = useLive();
  const [, setNow] = useState(0);
  useEffect(() => {
    if (connection.state !== "reconnecting") return;
    const t = window.setInterval(() => setNow(Date.now()), 500);
    return () => window.clearInterval(t);
  }, [connection.state]);

  let label = "live";
  if (connection.state === "connecting") label = "connecting…";
  if (connection.state === "reconnecting") {
    const s = connection.retryAt ? Math.max(0, Math.ceil((connection.retryAt - Date.now()) / 1000)) : 0;
    label = s > 0 ? `offline · retry in ${s}s` : "reconnecting…";
  }
  const title = connection.lastError ? `/ws/live ${connection.lastError}` : "/ws/live";
  return (
    <button
      type="button"
      className={`conn conn-${connection.state}`}
      data-testid="connection-indicator"
      data-state={connection.state}
      title={title}
      onClick={retryNow}
    >
      <span className="conn-dot" aria-hidden="true" />
      <span className="conn-label">{label}</span>
    </button>
  );
}
