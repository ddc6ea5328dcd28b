/**
 * The spike bench's HTTP client: plain HTTP/1.1 over keep-alive sockets, one request at a time
 * per socket, with as little client work per call as it takes — the request written as one
 * string, the answer's head scanned for its status and length (or chunks), its body kept as
 * text. The bench's crowd runs on the same two cores as the server, so what its own client costs
 * per call is taken from the server; the requests the server sees are those of undici's
 * `request` (`host`, `connection: keep-alive`, then the call's own headers), and every answer
 * is read to its end, so what is measured is unchanged.
 */
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  status: number;
  text: string;
}

const CRLF2 = Buffer.from('\r\n\r\n');

class Connection {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { ok(a: RawAnswer): void; fail(e: Error): void } | null = null;
  alive = true;
  readonly socket: Socket;

  constructor(host: string, port: number, onClose: (c: Connection) => void) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      this.parse();
    });
    const gone = (err?: Error) => {
      if (!this.alive) return;
      this.alive = false;
      onClose(this);
      const w = this.waiting;
      this.waiting = null;
      w?.fail(err ?? new Error('socket closed before the answer'));
    };
    this.socket.on('error', gone);
    this.socket.on('close', () => gone());
  }

  send(request: string): Promise<RawAnswer> {
    return new Promise((ok, fail) => {
      if (!this.alive) {
        fail(new Error('socket closed'));
        return;
      }
      this.waiting = { ok, fail };
      this.socket.write(request);
    });
  }

  private parse(): void {
    const headEnd = this.buf.indexOf(CRLF2);
    if (headEnd < 0 || !this.waiting) return;
    const head = this.buf.toString('latin1', 0, headEnd).toLowerCase();
    const status = Number(head.slice(9, 12));
    const start = headEnd + 4;
    let text: string;
    let end: number;
    const length = /\r\ncontent-length: *(\d+)/.exec(head);
    if (length) {
      end = start + Number(length[1]);
      if (this.buf.length < end) return;
      text = this.buf.toString('utf8', start, end);
    } else if (/\r\ntransfer-encoding: *chunked/.test(head)) {
      const parts: Buffer[] = [];
      let at = start;
      for (;;) {
        const lineEnd = this.buf.indexOf('\r\n', at);
        if (lineEnd < 0) return;
        const size = Number.parseInt(this.buf.toString('latin1', at, lineEnd), 16);
        if (size === 0) {
          if (this.buf.length < lineEnd + 4) return; // no trailers: the last CRLF
          end = lineEnd + 4;
          break;
        }
        if (this.buf.length < lineEnd + 2 + size + 2) return;
        parts.push(this.buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
      text = Buffer.concat(parts).toString('utf8');
    } else {
      end = start;
      text = '';
    }
    this.buf = this.buf.subarray(end);
    const w = this.waiting;
    this.waiting = null;
    if (/\r\nconnection: *close/.test(head)) {
      this.alive = false;
      this.socket.end();
    }
    w.ok({ status, text });
  }
}

/** Keep-alive sockets to one server, each carrying one request at a time. */
export class RawPool {
  private readonly free: Connection[] = [];
  private readonly host: string;
  private readonly port: number;
  readonly hostHeader: string;

  constructor(base: string) {
    const u = new URL(base);
    this.host = u.hostname;
    this.port = Number(u.port || 80);
    this.hostHeader = u.host;
  }

  /** Sends a request (its head after the `host` and `connection` lines, and its body). */
  async request(method: string, path: string, headers: string, body = ''): Promise<RawAnswer> {
    // An idle socket the server closed meanwhile (keep-alive timeout) is dropped, not reused.
    let c = this.free.pop();
    while (c && !c.alive) c = this.free.pop();
    c ??= new Connection(this.host, this.port, () => undefined);
    const length = body === '' && method === 'GET' ? '' : `content-length: ${Buffer.byteLength(body)}\r\n`;
    const answer = await c.send(
      `${method} ${path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\nconnection: keep-alive\r\n${headers}${length}\r\n${body}`,
    );
    if (c.alive) this.free.push(c);
    return answer;
  }

  close(): void {
    for (const c of this.free.splice(0)) c.socket.destroy();
  }
}
