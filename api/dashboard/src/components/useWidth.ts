import { useEffect, useRef, useState } from "react";

/** The element's content width, kept current with a ResizeObserver (charts draw at real pixel size). */
export function useWidth<T extends HTMLElement>(fallback = 600): [React.RefObject<T>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const obs = new ResizeObserver((entries) => {
      const w = Math.floor(entries[0]?.contentRect.width ?? fallback);
      if (w > 0) setWidth(w);
    });
    obs.observe(el);
    return () => obs.disconnect();
  }, [fallback]);
  return [ref, width];
}
