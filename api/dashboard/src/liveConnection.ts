// The /ws/live socket with reconnects: exponential back-off with jitter (0.5 s doubling up to 30 s),
// reset once a message arrives; a connection that stays silent longer than `staleMs` is treated as dead
// (the server sends an update every few seconds, so silence means a half-open TCP connection).

import type { LiveMessage } from "./api";

export type ConnectionState = "connecting" | "open" | "reconnecting";

export interface ConnectionInfo {
  state: ConnectionState;
  attempt: number; // failed attempts in a row
  retryAt: number | null; // epoch ms of the next attempt while reconnecting
  lastMessageAt: number | null;
  lastError: string | null;
}

export interface LiveConnectionOptions {
  url: string;
  onMessage: (msg: LiveMessage) => void;
  onState: (info: ConnectionInfo) => void;
  baseDelayMs?: number;
  maxDelayMs?: number;
  staleMs?: number;
}

export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  // Half fixed, half random: clients dropped together (server restart) do not all come back at once.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export class LiveConnection {
  private ws: WebSocket | null = null;
  private retryTimer: number | undefined;
  private staleTimer: number | undefined;
  private stopped = false;
  private info: ConnectionInfo = { state: "connecting", attempt: 0, retryAt: null, lastMessageAt: null, lastError: null };
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly staleMs: number;

  constructor(private readonly opts: LiveConnectionOptions) {
    this.baseDelayMs = opts.baseDelayMs ?? 500;
    this.maxDelayMs = opts.maxDelayMs ?? 30_000;
    this.staleMs = opts.staleMs ?? 15_000;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.retryTimer);
    window.clearInterval(this.staleTimer);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000, "page closed");
      this.ws = null;
    }
  }

  /** Try now instead of waiting out the back-off (the user clicked the indicator, the tab came back). */
  retryNow(): void {
    if (this.stopped || this.info.state !== "reconnecting") return;
    window.clearTimeout(this.retryTimer);
    this.connect();
  }

  private setInfo(patch: Partial<ConnectionInfo>): void {
    this.info = { ...this.info, ...patch };
    this.opts.onState(this.info);
  }

  private connect(): void {
    this.setInfo({ state: this.info.attempt === 0 ? "connecting" : "reconnecting", retryAt: null });
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.opts.url);
    } catch (err) {
      this.scheduleRetry(`cannot open ${this.opts.url}: ${(err as Error).message}`);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.setInfo({ state: "open", lastError: null });
      window.clearInterval(this.staleTimer);
      this.staleTimer = window.setInterval(() => this.checkStale(), Math.min(this.staleMs, 5_000));
    };
    ws.onmessage = (ev: MessageEvent) => {
      let msg: LiveMessage;
      try {
        msg = JSON.parse(String(ev.data)) as LiveMessage;
      } catch {
        return; // one garbled frame is not a reason to drop the connection
      }
      const patch: Partial<ConnectionInfo> = { lastMessageAt: Date.now() };
      if (this.info.attempt !== 0) patch.attempt = 0;
      this.setInfo(patch);
      this.opts.onMessage(msg);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      window.clearInterval(this.staleTimer);
      const why = ev.reason ? `closed ${ev.code}: ${ev.reason}` : `closed (${ev.code})`;
      this.scheduleRetry(why);
    };
  }

  private checkStale(): void {
    const last = this.info.lastMessageAt;
    if (this.ws && this.info.state === "open" && last !== null && Date.now() - last > this.staleMs) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close(4000, "no message");
      window.clearInterval(this.staleTimer);
      this.scheduleRetry(`no message for ${Math.round(this.staleMs / 1000)} s`);
    }
  }

  private scheduleRetry(error: string): void {
    if (this.stopped) return;
    const attempt = this.info.attempt + 1;
    const delay = backoffDelay(attempt, this.baseDelayMs, this.maxDelayMs);
    this.setInfo({ state: "reconnecting", attempt, retryAt: Date.now() + delay, lastError: error });
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => this.connect(), delay);
  }
}
