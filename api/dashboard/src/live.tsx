// `useLive()`: everything /ws/live has said since the page opened — the latest `update`, the trades,
// alerts and job/backtest progress pushed as they happen, and a short price history per symbol (the
// Scanner's change and sparkline, the Grid detail's live candles). One socket for the whole app.

import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";

import { api, liveUrl, type Alert, type JobProgress, type LiveMessage, type LiveUpdate, type PortfolioProgress, type Trade } from "./api";
import { LiveConnection, type ConnectionInfo } from "./liveConnection";

const MAX_TRADES = 200;
const MAX_ALERTS = 100;
const MAX_SAMPLES = 3_000;

/** One update's prices and the candle each runner had reached (runner id -> open time of its last candle). */
export interface PriceSample {
  ts: number; // wall clock of the update
  prices: Record<string, number>;
  candleTs: Record<string, number>;
  equity: number; // summed runner equity
  initial: number; // summed initial capital
}

export interface LiveTrade extends Trade {
  receivedAt: number;
}

export interface LiveState {
  connection: ConnectionInfo;
  update: LiveUpdate | null;
  trades: LiveTrade[]; // newest first, only those pushed since the page opened
  alerts: Alert[]; // newest first
  jobs: Record<string, JobProgress>;
  portfolioRuns: Record<string, PortfolioProgress>;
  samples: PriceSample[]; // oldest first
  firstPrices: Record<string, number>; // the first price seen of each symbol (the Scanner's "change")
  retryNow: () => void;
}

const initialConnection: ConnectionInfo = { state: "connecting", attempt: 0, retryAt: null, lastMessageAt: null, lastError: null };

const LiveContext = createContext<LiveState | null>(null);

interface Accumulated {
  update: LiveUpdate | null;
  trades: LiveTrade[];
  alerts: Alert[];
  jobs: Record<string, JobProgress>;
  portfolioRuns: Record<string, PortfolioProgress>;
  samples: PriceSample[];
  firstPrices: Record<string, number>;
}

export function reduceLive(acc: Accumulated, msg: LiveMessage, now: number): Accumulated {
  switch (msg.type) {
    case "update": {
      const candleTs: Record<string, number> = {};
      let equity = 0;
      let initial = 0;
      for (const s of msg.strategies) {
        for (const r of s.runners) {
          if (r.last_ts !== null) candleTs[r.runner_id] = r.last_ts;
          equity += r.equity;
          initial += r.initial_capital;
        }
      }
      if (acc.samples.length && acc.samples[acc.samples.length - 1].ts >= msg.timestamp) return acc;
      const samples = [...acc.samples, { ts: msg.timestamp, prices: msg.prices, candleTs, equity, initial }];
      if (samples.length > MAX_SAMPLES) samples.splice(0, samples.length - MAX_SAMPLES);
      const firstPrices = { ...acc.firstPrices };
      for (const [sym, p] of Object.entries(msg.prices)) if (!(sym in firstPrices)) firstPrices[sym] = p;
      return { ...acc, update: msg, samples, firstPrices };
    }
    case "trade":
      if (acc.trades.some((t) => t.trade_id === msg.data.trade_id)) return acc;
      return { ...acc, trades: [{ ...msg.data, receivedAt: now }, ...acc.trades].slice(0, MAX_TRADES) };
    case "alert":
      return { ...acc, alerts: [msg.data, ...acc.alerts].slice(0, MAX_ALERTS) };
    case "optimization_progress":
      return { ...acc, jobs: { ...acc.jobs, [msg.data.job_id]: msg.data } };
    case "portfolio_progress":
      return { ...acc, portfolioRuns: { ...acc.portfolioRuns, [msg.data.run_id]: msg.data } };
    default:
      return acc;
  }
}

export function LiveProvider({ children, url }: { children: ReactNode; url?: string }) {
  const [connection, setConnection] = useState<ConnectionInfo>(initialConnection);
  const [acc, setAcc] = useState<Accumulated>({
    update: null, trades: [], alerts: [], jobs: {}, portfolioRuns: {}, samples: [], firstPrices: {},
  });
  const connRef = useRef<LiveConnection | null>(null);

  useEffect(() => {
    const conn = new LiveConnection({
      url: url ?? liveUrl(),
      onMessage: (msg) => setAcc((prev) => reduceLive(prev, msg, Date.now())),
      onState: setConnection,
    });
    connRef.current = conn;
    conn.start();
    // The REST copy of the update fills the pages at once, before (or without) the socket's first tick.
    api.liveUpdate().then(
      (u) => setAcc((prev) => (prev.update ? prev : reduceLive(prev, u, Date.now()))),
      () => undefined,
    );
    const wake = () => {
      if (document.visibilityState === "visible") conn.retryNow();
    };
    document.addEventListener("visibilitychange", wake);
    window.addEventListener("online", wake);
    return () => {
      document.removeEventListener("visibilitychange", wake);
      window.removeEventListener("online", wake);
      conn.stop();
    };
  }, [url]);

  const value = useMemo<LiveState>(
    () => ({ connection, ...acc, retryNow: () => connRef.current?.retryNow() }),
    [connection, acc],
  );
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export function useLive(): LiveState {
  const v = useContext(LiveContext);
  if (!v) throw new Error("useLive() must be used inside <LiveProvider>");
  return v;
}
