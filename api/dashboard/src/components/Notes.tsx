import type { ReactNode } from "react";

import type { ApiError } from "../api";

/** An API error as the server explained it; a 503 (the part of the system is not running) reads as a note. */
export function ErrorNote({ error, what }: { error: ApiError | null | undefined; what?: string }) {
  if (!error) return null;
  const prefix = what ? `${what}: ` : "";
  if (error.unavailable) {
    return <p className="note muted" data-testid="unavailable">{prefix}not available — {error.detail}</p>;
  }
  return <p className="note error" role="alert">{prefix}{error.detail}</p>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="note muted">{children}</p>;
}

export function Stat({ label, value, className, testId }: { label: string; value: ReactNode; className?: string; testId?: string }) {
  return (
    <div className="stat" data-testid={testId}>
      <div className="stat-label">{label}</div>
      <div className={`stat-value ${className ?? ""}`}>{value}</div>
    </div>
  );
}

export function Section({ title, children, actions, testId }: { title: string; children: ReactNode; actions?: ReactNode; testId?: string }) {
  return (
    <section className="card" data-testid={testId}>
      <header className="card-head">
        <h2>{title}</h2>
        {actions ? <div className="card-actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}
