// Candles of one runner built from the /ws/live samples, keyed by the runner's own candle clock (the open
// time of the last candle it processed), so they sit on the same time axis as its trades — also in a
// replay, where the system's clock runs far ahead of the wall clock.

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
