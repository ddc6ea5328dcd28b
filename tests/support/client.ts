import type { Challenge } from 'altcha-lib';
import { Agent, request } from 'undici';
import { solvePow } from './pow.ts';

/**
 * A tRPC-over-HTTP client for tests that need to see the wire: status codes, headers, cookies. It
 * speaks exactly the protocol of docs/architecture.md#the-http-edge (POST for mutations with a JSON
 * body, GET with `?input=` for queries), which is also what `@trpc/client`'s httpLink sends.
 */
export const agent = new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });

export interface Answer<T = unknown> {
  status: number;
  body: {
    result?: { data: T };
    error?: {
      message: string;
      data: {
        reason: string;
        httpStatus: number;
        retryAfterMs?: number;
        fieldErrors?: Record<string, string[]>;
        waitingFor?: string[];
      };
    };
  };
  headers: Record<string, string | string[] | undefined>;
}

export class TestClient {
  cookies = new Map<string, string>();
  /** The guest user of the session `startSession()` started. */
  userId: string | undefined;

  constructor(
    readonly baseUrl: string,
    readonly extraHeaders: Record<string, string> = {},
  ) {}

  private cookieHeader(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
  }

  private keepCookies(h: Record<string, string | string[] | undefined>): void {
    const set = h['set-cookie'];
    for (const c of Array.isArray(set) ? set : set ? [set] : []) {
      const [pair] = c.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair && eq > 0) {
        const name = pair.slice(0, eq);
        const value = pair.slice(eq + 1);
        if (value === '') this.cookies.delete(name);
        else this.cookies.set(name, value);
      }
    }
  }

  async raw(
    method: 'GET' | 'POST',
    path: string,
    opts: { body?: string; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }> {
    const res = await request(`${this.baseUrl}${path}`, {
      method,
      dispatcher: agent,
      headers: { ...this.extraHeaders, ...this.cookieHeader(), ...opts.headers },
      body: opts.body,
    });
    const text = await res.body.text();
    this.keepCookies(res.headers);
    return { status: res.statusCode, text, headers: res.headers };
  }

  /** An `order.place` that must be accepted: its orderId (throws with the answer otherwise). */
  async placeAccepted(input: { saleId: string; quantity: number; idempotencyKey: string }): Promise<string> {
    const a = await this.mutate<{ orderId: string }>('order.place', input);
    const orderId = a.body.result?.data.orderId;
    if (a.status !== 200 || !orderId)
      throw new Error(`order.place ${JSON.stringify(input)} → ${a.status} ${JSON.stringify(a.body)}`);
    return orderId;
  }

  async mutate<T = unknown>(
    path: string,
    input: unknown = {},
    headers: Record<string, string> = {},
  ): Promise<Answer<T>> {
    const r = await this.raw('POST', `/trpc/${path}`, {
      body: JSON.stringify(input),
      headers: { 'content-type': 'application/json', ...headers },
    });
    return { status: r.status, body: JSON.parse(r.text), headers: r.headers };
  }

  async query<T = unknown>(path: string, input?: unknown): Promise<Answer<T>> {
    const q = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    const r = await this.raw('GET', `/trpc/${path}${q}`);
    return { status: r.status, body: JSON.parse(r.text), headers: r.headers };
  }

  /** A solved proof of work for `session.start`, or undefined when the server asks none (§9). */
  async solvePow(): Promise<string | undefined> {
    const c = await this.query<Challenge | null>('session.challenge');
    if (c.status !== 200 || !c.body.result)
      throw new Error(`session.challenge: ${c.status} ${JSON.stringify(c.body)}`);
    return c.body.result.data ? solvePow(c.body.result.data) : undefined;
  }

  /** A new guest session, paying the proof of work when the server asks for one. */
  async startSession(): Promise<string> {
    const pow = await this.solvePow();
    const r = await this.mutate<{ userId: string }>('session.start', pow ? { pow } : {});
    if (r.status !== 200 || !r.body.result)
      throw new Error(`session.start: ${r.status} ${JSON.stringify(r.body)}`);
    this.userId = r.body.result.data.userId;
    return this.userId;
  }

  async loginAdmin(password: string): Promise<void> {
    const r = await this.mutate('admin.login', { password });
    if (r.status !== 200) throw new Error(`admin.login: ${r.status} ${JSON.stringify(r.body)}`);
  }
}

export function reasonOf(a: Answer): string | undefined {
  return a.body.error?.data.reason;
}
