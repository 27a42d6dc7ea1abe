// Browser-side settings. The API key stays in this browser's localStorage: it is sent only as the
// X-API-Key header of write requests to the page's own origin, and never shown back in full.

const KEY = "scalp-radar.api-key";

export function getApiKey(): string {
  try {
    return localStorage.getItem(KEY) ?? "";
  } catch {
    return ""; // storage disabled (private mode): writes will answer 401 with a clear message
  }
}

export function setApiKey(value: string): void {
  const v = value.trim();
  if (v) localStorage.setItem(KEY, v);
  else localStorage.removeItem(KEY);
}

/** "••••abcd": enough to tell which key is stored without showing it. */
export function maskedKey(key: string): string {
  if (!key) return "";
  return `${"•".repeat(Math.max(0, Math.min(8, key.length - 4)))}${key.slice(-4)}`;
}
