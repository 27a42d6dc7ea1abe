// Candles with horizontal price lines (grid levels, average entry, TP, SL) and trade markers, drawn by
// TradingView's lightweight-charts. The chart object is made once; data, lines and markers are swapped
// in place on each render so the user's zoom and scroll survive live updates.

import {
  CandlestickSeries,
  ColorType,
  createChart,
  createSeriesMarkers,
  LineStyle,
  type IChartApi,
  type IPriceLine,
  type ISeriesApi,
  type ISeriesMarkersPluginApi,
  type SeriesMarker,
  type Time,
  type UTCTimestamp,
} from "lightweight-charts";
import { useEffect, useRef } from "react";

import { priceDigits } from "../format";

export interface Candle {
  time: number; // epoch seconds (the library's UTCTimestamp)
  open: number;
  high: number;
  low: number;
  close: number;
}

export interface PriceLineSpec {
  price: number;
  color: string;
  title: string;
  dashed?: boolean;
  width?: 1 | 2 | 3;
}

export interface MarkerSpec {
  time: number; // epoch seconds, one of the candles' times
  kind: "entry" | "exit-win" | "exit-loss";
  text: string;
}

const MARKER_STYLE = {
  entry: { position: "belowBar", color: "#4ea1ff", shape: "arrowUp" },
  "exit-win": { position: "aboveBar", color: "#2ecc71", shape: "arrowDown" },
  "exit-loss": { position: "aboveBar", color: "#e74c3c", shape: "arrowDown" },
} as const;

export function CandleChart({ candles, lines, markers, height = 380, testId }: { candles: Candle[]; lines: PriceLineSpec[]; markers: MarkerSpec[]; height?: number; testId?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);
  const series = useRef<ISeriesApi<"Candlestick"> | null>(null);
  const markerApi = useRef<ISeriesMarkersPluginApi<Time> | null>(null);
  const priceLines = useRef<IPriceLine[]>([]);
  const fitted = useRef(false);

  useEffect(() => {
    if (!box.current) return;
    const c = createChart(box.current, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: "transparent" }, textColor: "#9aa7b4", fontSize: 11 },
      grid: { vertLines: { color: "#1f2630" }, horzLines: { color: "#1f2630" } },
      rightPriceScale: { borderColor: "#2a313c" },
      timeScale: { borderColor: "#2a313c", timeVisible: true, secondsVisible: false },
      crosshair: { mode: 0 },
    });
    const s = c.addSeries(CandlestickSeries, {
      upColor: "#2ecc71", downColor: "#e74c3c", borderVisible: false, wickUpColor: "#2ecc71", wickDownColor: "#e74c3c",
    });
    chart.current = c;
    series.current = s;
    markerApi.current = createSeriesMarkers(s, []);
    return () => {
      c.remove();
      chart.current = null;
      series.current = null;
      markerApi.current = null;
      priceLines.current = [];
      fitted.current = false;
    };
  }, []);

  useEffect(() => {
    const s = series.current;
    if (!s) return;
    const last = candles[candles.length - 1]?.close;
    if (last !== undefined) {
      const precision = priceDigits(last);
      s.applyOptions({ priceFormat: { type: "price", precision, minMove: 10 ** -precision } });
    }
    s.setData(candles.map((k) => ({ ...k, time: k.time as UTCTimestamp })));
    if (!fitted.current && candles.length > 1) {
      chart.current?.timeScale().fitContent();
      fitted.current = true;
    }
  }, [candles]);

  useEffect(() => {
    const s = series.current;
    if (!s) return;
    for (const l of priceLines.current) s.removePriceLine(l);
    priceLines.current = lines
      .filter((l) => Number.isFinite(l.price))
      .map((l) =>
        s.createPriceLine({
          price: l.price, color: l.color, title: l.title, lineWidth: l.width ?? 1,
          lineStyle: l.dashed ? LineStyle.Dashed : LineStyle.Solid, axisLabelVisible: true,
        }),
      );
  }, [lines]);

  useEffect(() => {
    const m: SeriesMarker<Time>[] = [...markers]
      .sort((a, b) => a.time - b.time)
      .map((k) => ({ time: k.time as UTCTimestamp, text: k.text, ...MARKER_STYLE[k.kind] }));
    markerApi.current?.setMarkers(m);
  }, [markers]);

  return <div ref={box} className="candle-chart" style={{ height }} data-testid={testId} data-candles={candles.length} data-markers={markers.length} />;
}
