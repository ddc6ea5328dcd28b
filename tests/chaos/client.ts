import { Agent, request } from 'undici';

/**
 * The fault run's HTTP client: tRPC over HTTP as a browser sends it, with a deadline on every
 * call — a call to a stopped server must end as an indeterminate answer, not hang the shopper.
 */
const agent = new Agent({ connections: 64, keepAliveTimeout: 10_000, connect: { timeout: 2000 } });

export interface Reply {
  status: number;
  body: { result?: { data?: unknown }; error?: { data?: { reason?: string; retryAfterMs?: number } } };
}

export class ChaosClient {
  private cookie = '';
  userId: string | undefined;

  constructor(private readonly timeoutMs = 4000) {}

  mutate(base: string, path: string, input: unknown = {}): Promise<Reply> {
    return this.call(base, path, input, 'POST');
  }

  /** A tRPC query (GET with `?input=`), as `queue.get` is polled. */
  query(base: string, path: string, input: unknown = {}): Promise<Reply> {
    return this.call(base, path, input, 'GET');
  }

  private async call(base: string, path: string, input: unknown, method: 'GET' | 'POST'): Promise<Reply> {
    const url =
      method === 'GET'
        ? `${base}/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`
        : `${base}/trpc/${path}`;
    const res = await request(url, {
      method,
      dispatcher: agent,
      headers: {
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
        ...(this.cookie ? { cookie: this.cookie } : {}),
      },
      ...(method === 'POST' ? { body: JSON.stringify(input) } : {}),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.body.text();
    const set = res.headers['set-cookie'];
    for (const c of Array.isArray(set) ? set : set ? [set] : []) {
      const pair = c.split(';')[0] ?? '';
      const name = pair.slice(0, pair.indexOf('='));
      const jar = new Map(this.cookie ? this.cookie.split('; ').map((p) => [p.split('=')[0], p]) : []);
      jar.set(name, pair);
      this.cookie = [...jar.values()].join('; ');
    }
    let body: Reply['body'] = {};
    try {
      body = JSON.parse(text);
    } catch {
      // a proxy's or a dying server's page: no reason, indeterminate
    }
    return { status: res.statusCode, body };
  }

  async startSession(base: string): Promise<string> {
    const r = await this.mutate(base, 'session.start');
    const userId = (r.body.result?.data as { userId?: string } | undefined)?.userId;
    if (r.status !== 200 || !userId) throw new Error(`session.start: ${r.status}`);
    this.userId = userId;
    return userId;
  }
}

export const closeAgent = () => agent.close();
export const reasonOf = (r: Reply) => r.body.error?.data?.reason;
