import { fmtFrac } from "../format";

export function ProgressBar({ value, label, testId, status }: { value: number; label?: string; testId?: string; status?: string }) {
  const pct = Math.max(0, Math.min(1, Number.isFinite(value) ? value : 0));
  return (
    <div
      className={`progress ${status ? `progress-${status}` : ""}`}
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(pct * 100)}
      data-testid={testId}
      data-status={status}
    >
      <div className="progress-fill" style={{ width: `${pct * 100}%` }} />
      <span className="progress-label">{label ?? fmtFrac(pct)}</span>
    </div>
  );
}
