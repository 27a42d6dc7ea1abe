// Typed client of the Scalp Radar REST API. The interfaces mirror api/models.py (times are epoch
// milliseconds UTC, money is USDT); keep them in step when a response model changes.

import { getApiKey } from "./settings";

export type JobState = "queued" | "running" | "done" | "failed" | "cancelled";
export type Side = "long" | "short";
export type SideOrFlat = Side | "flat";
export type Grade = "A" | "B" | "C" | "D" | "F";
export type RankBy = "return" | "drawdown" | "trades" | "win_rate";
export type LogLevel = "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL";

export interface Health {
  status: "ok";
  version: string;
  time_ms: number;
  uptime_s: number;
  client: string;
  ws_clients: number;
  database: boolean;
}

// -- simulator ----------------------------------------------------------------------------------------
export interface RunnerStatus {
  runner_id: string;
  strategy: string;
  symbol: string;
  initial_capital: number;
  capital: number;
  equity: number;
  used_margin: number;
  return_pct: number;
  stopped: boolean;
  stop_reason: string;
  last_ts: number | null;
}

export interface StrategyStatus {
  name: string;
  symbols: string[];
  timeframe: string;
  candles: number;
  events: number;
  restored: boolean;
  runners: RunnerStatus[];
}

export interface SimulatorStatus {
  timestamp: number;
  strategies: StrategyStatus[];
  runners: number;
  stopped_runners: number;
  initial_capital: number;
  total_equity: number;
  return_pct: number;
  open_positions: number;
}

export interface Position {
  runner_id: string;
  strategy: string;
  symbol: string;
  side: Side;
  quantity: number;
  avg_entry: number;
  entry_fees: number;
  opened_ts: number;
  price: number | null;
  unrealized_pnl: number | null;
  notional: number;
}

export interface GridLeg {
  level: number;
  entry_price: number;
  quantity: number;
  margin: number;
  entry_ts: number;
}

export interface GridState {
  runner_id: string;
  strategy: string;
  symbol: string;
  side: SideOrFlat;
  avg_entry: number | null;
  quantity: number;
  filled_levels: number[];
  legs: GridLeg[];
  price: number | null;
  unrealized_pnl: number | null;
  tp_price: number | null;
  sl_price: number | null;
  pending_levels: number[];
}

export interface EquityRunner {
  runner_id: string;
  equity: number;
  capital: number;
  used_margin: number;
}

export interface EquityPoint {
  timestamp: number;
  equity: number;
  cash: number;
  unrealized_pnl: number;
  margin_used: number;
}

export interface EquityResponse {
  timestamp: number;
  scope: string;
  initial_capital: number;
  total_equity: number;
  return_pct: number;
  runners: EquityRunner[];
  curve: EquityPoint[];
}

export interface Trade {
  trade_id: string;
  runner_id: string;
  strategy: string;
  symbol: string;
  side: SideOrFlat;
  entry_ts: number;
  exit_ts: number;
  entry_price: number;
  exit_price: number;
  qty: number;
  gross_pnl: number;
  fees: number;
  slippage: number;
  funding: number;
  net_pnl: number;
  reason: string;
  positions: number | null;
}

export interface Page<T> {
  total: number;
  limit: number;
  offset: number;
  items: T[];
}

export interface RunnerPerformance {
  runner_id: string;
  trades: number;
  wins: number;
  losses: number;
  win_rate: number;
  net_pnl: number;
  gross_profit: number;
  gross_loss: number;
  profit_factor: number | null;
  fees: number;
  funding: number;
  best_trade: number | null;
  worst_trade: number | null;
  avg_trade: number | null;
  max_drawdown: number;
}

export interface Performance {
  totals: RunnerPerformance;
  runners: RunnerPerformance[];
}

export interface KillSwitchRunner {
  runner_id: string;
  stopped: boolean;
  reason: string;
}

export interface KillSwitchStatus {
  global_available: boolean;
  global_active: boolean;
  frozen_until: number | null;
  drawdown_pct: number | null;
  runners: KillSwitchRunner[];
}

// -- executor -----------------------------------------------------------------------------------------
export interface ExecutorStatus {
  mode: "paper" | "live";
  live_trading: boolean;
  fills: number;
  open_positions: number;
  exposure: number;
  kill_switch_active: boolean;
}

// -- arena, data --------------------------------------------------------------------------------------
export interface RankingEntry {
  rank: number;
  runner_id: string;
  strategy: string;
  symbol: string;
  initial_capital: number;
  equity: number;
  return_pct: number;
  max_drawdown_pct: number;
  trades: number;
  wins: number;
  win_rate: number;
  net_pnl: number;
}

export interface FeedHealth {
  connected: boolean;
  last_message_ms: number | null;
  last_candle_ms: Record<string, number>;
  reconnects: number;
  rejected: Record<string, number>;
  duplicates: number;
  backfilled: number;
}

export interface SeriesStatus {
  exchange: string;
  symbol: string;
  timeframe: string;
  first_ms: number;
  last_ms: number;
  rows: number;
  gaps: number;
  missing_candles: number;
}

export interface DataStatus {
  feed: FeedHealth | null;
  feed_error: string | null;
  series: SeriesStatus[];
}

export interface Ohlcv {
  time_ms: number; // open time
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export interface CandleSeries {
  exchange: string;
  symbol: string;
  timeframe: string;
  candles: Ohlcv[]; // oldest first
}

// -- WFO ----------------------------------------------------------------------------------------------
export interface StrategyInfo {
  name: string;
  enabled: boolean;
  symbols: string[];
  timeframe: string;
  params: Record<string, unknown>;
  has_grid: boolean;
  n_combos: number | null;
}

export interface WfoWindows {
  is_days: number;
  oos_days: number;
  step_days: number;
  embargo_days: number;
}

export interface ParamGrid {
  strategy: string;
  default: Record<string, unknown[]>;
  per_symbol: Record<string, Record<string, unknown[]>>;
  wfo: WfoWindows;
  n_combos: number;
}

export interface SweepLaunch {
  strategy: string;
  symbols: string[];
  job_id?: string;
  exchange?: string;
  start_ms?: number;
  end_ms?: number;
  is_days?: number;
  oos_days?: number;
  step_days?: number;
  embargo_days?: number;
  batch_size?: number;
}

export interface JobProgress {
  job_id: string;
  strategy: string;
  symbols: string[];
  source: string;
  status: JobState;
  done: number;
  total: number;
  progress: number;
  error: string | null;
  submitted_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  cancel_requested: boolean;
}

export interface WfoResult {
  symbol: string;
  strategy: string;
  timeframe: string;
  params: Record<string, unknown>;
  grade: string | null;
  score: number | null;
  metrics: Record<string, unknown>;
}

export interface ComboResult {
  symbol: string;
  combo_key: string;
  params: Record<string, unknown>;
  is_sharpe: number | null;
  oos_sharpe: number | null;
  consistency: number | null;
  n_windows: number;
  n_trades: number;
  metrics: Record<string, unknown>;
}

export interface ComboPage extends Page<ComboResult> {
  job_id: string;
  param_names: string[];
}

export interface AppliedItem {
  strategy: string;
  symbol: string;
  grade: string | null;
  params: Record<string, unknown>;
}

export interface ApplyResult {
  job_id: string;
  dry_run: boolean;
  applied: AppliedItem[];
  backup: string | null;
}

// -- portfolio ----------------------------------------------------------------------------------------
export interface PortfolioLaunch {
  strategies: string[];
  symbols: string[];
  timeframe?: string;
  exchange?: string;
  start_ms?: number;
  end_ms?: number;
  capital?: number;
  name?: string;
}

export interface PortfolioProgress {
  run_id: string;
  name: string;
  status: JobState;
  progress: number;
  backtest_id: number | null;
  error: string | null;
  submitted_at: number;
  finished_at: number | null;
}

export interface PortfolioSummary {
  id: number;
  name: string;
  created_at: number;
  strategies: string[];
  symbols: string[];
  start_ms: number;
  end_ms: number;
  initial_capital: number;
  final_equity: number;
  return_pct: number;
  max_drawdown_pct: number | null;
  sharpe: number | null;
  trades: number | null;
  benchmark_return_pct: number | null;
}

export interface PortfolioPoint {
  timestamp: number;
  equity: number;
  margin: number;
  open_positions: number;
}

export interface PortfolioDetail {
  summary: PortfolioSummary;
  metrics: Record<string, unknown>;
  params: Record<string, unknown>;
  equity_curve: PortfolioPoint[];
}

export interface PortfolioCompare {
  items: PortfolioSummary[];
  metrics: Record<string, Record<string, number | null>>;
  best_return_id: number;
}

// -- journal, logs ------------------------------------------------------------------------------------
export interface Snapshot extends EquityPoint {
  scope: string;
}

export interface PositionEvent {
  event_id: string;
  runner_id: string;
  strategy: string;
  symbol: string;
  timestamp: number;
  kind: string;
  side: SideOrFlat;
  price: number;
  qty: number;
  level: number | null;
  reason: string | null;
}

export interface DailyPnl {
  day: string;
  trades: number;
  wins: number;
  net_pnl: number;
  fees: number;
  cumulative_pnl: number;
}

export interface LogLine {
  timestamp: number;
  level: LogLevel;
  logger: string;
  message: string;
}

// -- /ws/live -----------------------------------------------------------------------------------------
export interface Alert {
  kind: string;
  message: string;
  timestamp: number;
  severity: "info" | "warning" | "critical";
}

export interface LiveUpdate {
  type: "update";
  timestamp: number;
  strategies: StrategyStatus[];
  kill_switch: KillSwitchStatus | null;
  simulator_positions: Position[];
  grid_state: GridState[];
  ranking: RankingEntry[];
  executor: ExecutorStatus | null;
  prices: Record<string, number>;
  unavailable: string[];
}

export type LiveMessage =
  | LiveUpdate
  | { type: "trade"; data: Trade }
  | { type: "alert"; data: Alert }
  | { type: "optimization_progress"; data: JobProgress }
  | { type: "portfolio_progress"; data: PortfolioProgress };

// -- transport ----------------------------------------------------------------------------------------

/** A non-2xx answer: `detail` is the server's own explanation (`{"detail": "..."}` on every error). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly path: string,
  ) {
    super(`${path}: ${status} ${detail}`);
  }

  /** 503: the actor or the database behind this endpoint is not there (not a bug of the page). */
  get unavailable(): boolean {
    return this.status === 503;
  }
}

type Query = Record<string, string | number | boolean | null | undefined | (string | number)[]>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => params.append(k, String(x)));
    else params.append(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function request<T>(method: "GET" | "POST", path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
  const url = withQuery(path, opts.query);
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method === "POST") {
    headers["Content-Type"] = "application/json";
    const key = getApiKey();
    if (key) headers["X-API-Key"] = key;
  }
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  } catch (err) {
    throw new ApiError(0, `server unreachable (${(err as Error).message})`, path);
  }
  if (!res.ok) {
    let detail = res.statusText || "error";
    try {
      const body = (await res.json()) as { detail?: unknown };
      if (typeof body.detail === "string") detail = body.detail;
    } catch {
      // non-JSON error page (a proxy in between): keep the status text
    }
    if (res.status === 401 || res.status === 403) detail += " — set the API key under Settings";
    throw new ApiError(res.status, detail, path);
  }
  return (await res.json()) as T;
}

const get = <T>(path: string, query?: Query) => request<T>("GET", path, { query });
const post = <T>(path: string, body?: unknown) => request<T>("POST", path, { body });
const enc = encodeURIComponent;

export const api = {
  health: () => get<Health>("/health"),
  liveUpdate: () => get<LiveUpdate>("/api/live/update"),

  simulatorStatus: () => get<SimulatorStatus>("/api/simulator/status"),
  positions: (q?: { symbol?: string; strategy?: string }) => get<Position[]>("/api/simulator/positions", q),
  gridState: (q?: { symbol?: string; strategy?: string }) => get<GridState[]>("/api/simulator/grid-state", q),
  trades: (q?: {
    runner_id?: string;
    strategy?: string;
    symbol?: string;
    side?: Side;
    reason?: string;
    since_ms?: number;
    until_ms?: number;
    sort?: string;
    limit?: number;
    offset?: number;
  }) => get<Page<Trade>>("/api/simulator/trades", q),
  equity: (scope = "paper", points = 1000) => get<EquityResponse>("/api/simulator/equity", { scope, points }),
  performance: (q?: { runner_id?: string; strategy?: string }) => get<Performance>("/api/simulator/performance", q),
  resetKillSwitch: (runnerId?: string) =>
    post<KillSwitchStatus>("/api/simulator/kill-switch/reset", runnerId ? { runner_id: runnerId } : undefined),

  executorStatus: () => get<ExecutorStatus>("/api/executor/status"),
  resetExecutorKillSwitch: () => post<ExecutorStatus>("/api/executor/kill-switch/reset"),

  ranking: (by: RankBy = "return") => get<RankingEntry[]>("/api/arena/ranking", { by }),
  dataStatus: () => get<DataStatus>("/api/data/status"),
  candles: (q: { symbol: string; timeframe?: string; limit?: number; exchange?: string; end_ms?: number }) =>
    get<CandleSeries>("/api/data/candles", q),

  wfoStrategies: () => get<StrategyInfo[]>("/api/wfo/strategies"),
  paramGrid: (strategy: string) => get<ParamGrid>(`/api/wfo/param-grids/${enc(strategy)}`),
  wfoJobs: () => get<JobProgress[]>("/api/wfo/jobs"),
  wfoJob: (jobId: string) => get<JobProgress>(`/api/wfo/jobs/${enc(jobId)}`),
  wfoLaunch: (body: SweepLaunch) => post<JobProgress>("/api/wfo/jobs", body),
  wfoCancel: (jobId: string) => post<JobProgress>(`/api/wfo/jobs/${enc(jobId)}/cancel`),
  wfoResults: (jobId: string) => get<WfoResult[]>(`/api/wfo/jobs/${enc(jobId)}/results`),
  wfoCombos: (jobId: string, q?: { symbol?: string; sort?: string; limit?: number }) =>
    get<ComboPage>(`/api/wfo/jobs/${enc(jobId)}/combos`, { limit: 10_000, ...q }),
  wfoApply: (jobId: string, grades: Grade[], dryRun: boolean) =>
    post<ApplyResult>(`/api/wfo/jobs/${enc(jobId)}/apply`, { grades, dry_run: dryRun }),

  portfolioLaunch: (body: PortfolioLaunch) => post<PortfolioProgress>("/api/portfolio/runs", body),
  portfolioRuns: () => get<PortfolioProgress[]>("/api/portfolio/runs"),
  portfolioBacktests: (limit = 50) => get<PortfolioSummary[]>("/api/portfolio/backtests", { limit }),
  portfolioBacktest: (id: number) => get<PortfolioDetail>(`/api/portfolio/backtests/${id}`),
  portfolioCompare: (ids: number[]) => get<PortfolioCompare>("/api/portfolio/compare", { ids }),

  snapshots: (q?: { scope?: string; limit?: number }) => get<Snapshot[]>("/api/journal/snapshots", q),
  events: (q?: { runner_id?: string; symbol?: string; kind?: string; since_ms?: number; limit?: number; offset?: number }) =>
    get<Page<PositionEvent>>("/api/journal/events", q),
  dailyPnl: (q?: { runner_id?: string; strategy?: string; days?: number }) => get<DailyPnl[]>("/api/journal/daily-pnl", q),
  logs: (limit = 200, level: LogLevel = "INFO") => get<LogLine[]>("/api/logs", { limit, level }),
};

/** The /ws/live URL on the page's own origin (ws:// or wss:// to match http:// or https://). */
export function liveUrl(loc: Location = window.location): string {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}/ws/live`;
}
