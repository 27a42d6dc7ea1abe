// `usePoll(load, deps, everyMs)`: data from the REST API, reloaded every `everyMs` (0: once) and whenever
// `deps` change. Keeps the last good data while a reload fails, so a page does not flash empty.

import { useCallback, useEffect, useRef, useState } from "react";

import { ApiError } from "./api";

export interface Polled<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

export function usePoll<T>(load: () => Promise<T>, deps: unknown[], everyMs = 0): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    let cancelled = false;
    let timer: number | undefined;
    const run = async () => {
      try {
        const value = await loadRef.current();
        if (!cancelled) {
          setData(value);
          setError(null);
        }
      } catch (err) {
        if (!cancelled) setError(err instanceof ApiError ? err : new ApiError(0, String(err), "?"));
      } finally {
        if (!cancelled) {
          setLoading(false);
          if (everyMs > 0) timer = window.setTimeout(run, everyMs);
        }
      }
    };
    setLoading(true);
    void run();
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, everyMs, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}
