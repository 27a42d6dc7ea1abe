// Candles of one runner built from the /ws/live samples, keyed by the runner's own candle clock (the open
// time of the last candle it processed), so they sit on the same time axis as its trades — also in a
// replay, where the system's clock runs far ahead of the wall clock. The stored candles (the API) are the
// history; these live ones only extend it past the newest stored candle (`mergeCandles`).

import type { Ohlcv } from "./api";
import type { Candle } from "./components/CandleChart";
import type { PriceSample } from "./live";

const MINUTE = 60_000;

export function buildCandles(samples: PriceSample[], runnerId: string, symbol: string): Candle[] {
  const out: Candle[] = [];
  let lastKey = -Infinity;
  for (const s of samples) {
    const price = s.prices[symbol];
    if (price === undefined || !Number.isFinite(price)) continue;
    const key = s.candleTs[runnerId] ?? Math.floor(s.ts / MINUTE) * MINUTE;
    if (key < lastKey) continue; // the system restarted on older data: keep the axis ascending
    const cur = out[out.length - 1];
    if (key === lastKey && cur) {
      cur.high = Math.max(cur.high, price);
      cur.low = Math.min(cur.low, price);
      cur.close = price;
      continue;
    }
    // A replay moves several candles between two updates: a candle then has one sample, so it opens at
    // the previous close (a continuous chart, not a row of dojis).
    const open = cur ? cur.close : price;
    out.push({ time: Math.floor(key / 1000), open, high: Math.max(open, price), low: Math.min(open, price), close: price });
    lastKey = key;
  }
  return out;
}

/** Stored candles (epoch ms open times) on the chart's axis (epoch s). */
export function fromStored(rows: Ohlcv[]): Candle[] {
  return rows.map((r) => ({ time: Math.floor(r.time_ms / 1000), open: r.open, high: r.high, low: r.low, close: r.close }));
}

/**
 * The stored candles, then the live ones newer than the newest stored candle: strictly ascending times, as
 * lightweight-charts requires (it throws on a repeated or older time). A live candle at a stored time is
 * dropped: the stored one is the exchange's real OHLC, the live one only an approximation from samples.
 */
export function mergeCandles(stored: Candle[], live: Candle[]): Candle[] {
  const out: Candle[] = [];
  for (const c of stored) {
    if (out.length === 0 || c.time > out[out.length - 1].time) out.push(c);
  }
  const lastStored = out[out.length - 1];
  for (const c of live) {
    const last = out[out.length - 1];
    if (last && c.time <= last.time) continue;
    if (lastStored && last === lastStored) {
      // The first live candle opens at the stored close (its samples may have started mid-candle), so the
      // chart stays continuous where the history ends, as buildCandles does between live candles.
      const open = lastStored.close;
      out.push({ ...c, open, high: Math.max(c.high, open), low: Math.min(c.low, open) });
      continue;
    }
    out.push(c);
  }
  return out;
}

/** The candle (epoch s) a moment (epoch ms) falls in; null before the first candle or long after the last. */
export function snapToCandle(candles: Candle[], ms: number): number | null {
  if (candles.length === 0) return null;
  const t = ms / 1000;
  const first = candles[0].time;
  const last = candles[candles.length - 1].time;
  const step = candles.length > 1 ? (last - first) / (candles.length - 1) : 3600;
  if (t < first || t > last + 2 * Math.max(step, 60)) return null;
  let lo = 0;
  let hi = candles.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (candles[mid].time <= t) lo = mid;
    else hi = mid - 1;
  }
  return candles[lo].time;
}
