/**
 * One client process of `npm run bench:sse` (bench/sse/run.ts forks several): opens its share of
 * `live.sale` SSE streams, each from its own local address in 127.0.0.0/8, and reports when each
 * stream saw a purchase. Plain JavaScript with node:http only, so that a process holding
 * thousands of streams costs as little as it can. Times are `process.hrtime.bigint()`
 * (CLOCK_MONOTONIC: one clock for every process of the host), sent as strings.
 *
 * Messages from the parent:
 *   { cmd: 'connect', port, saleId, addresses: string[], perAddress, concurrency }
 *   { cmd: 'expect', below, t0 }   report, per stream, when it first saw remaining <= below
 *   { cmd: 'close' }
 */
import http from 'node:http';

/** @type {{ frames: [number, bigint][], req: http.ClientRequest }[]} */
const streams = [];

function open(port, saleId, localAddress) {
  return new Promise((resolve, reject) => {
    const input = encodeURIComponent(JSON.stringify({ saleId }));
    const started = process.hrtime.bigint();
    const s = { frames: [], req: null };
    const req = http.get(
      {
        host: '127.0.0.1',
        port,
        path: `/trpc/live.sale?input=${input}`,
        localAddress,
        agent: false,
        headers: { accept: 'text/event-stream' },
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`HTTP ${res.statusCode} from ${localAddress}`));
          return;
        }
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk) => {
          const now = process.hrtime.bigint();
          buffer += chunk;
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            end = buffer.indexOf('\n\n');
            const data = event.split('\n').find((l) => l.startsWith('data: '));
            if (!data?.includes('"remaining"')) continue;
            const remaining = JSON.parse(data.slice(6)).remaining;
            if (s.frames.length === 0) {
              streams.push(s);
              resolve(Number(now - started) / 1e6);
            }
            s.frames.push([remaining, now]);
          }
        });
        res.on('error', () => undefined);
      },
    );
    req.on('error', reject);
    s.req = req;
  });
}

async function connect(m) {
  const setupMs = [];
  const targets = m.addresses.flatMap((a) => Array.from({ length: m.perAddress }, () => a));
  let next = 0;
  let failed = 0;
  let retried = 0;
  /** @type {Record<string, number>} */
  const why = {};
  const lane = async () => {
    while (next < targets.length) {
      const address = targets[next++];
      // Like an EventSource, a stream whose connection was refused or reset tries again (a
      // burst of connections can overflow the server's accept queue).
      for (let attempt = 1; ; attempt++) {
        try {
          setupMs.push(await open(m.port, m.saleId, address));
          break;
        } catch (err) {
          const code = err.code ?? err.message;
          if (attempt < 5 && (code === 'ECONNRESET' || code === 'ECONNREFUSED')) {
            retried++;
            await new Promise((r) => setTimeout(r, 100 * attempt));
            continue;
          }
          failed++;
          why[code] = (why[code] ?? 0) + 1;
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: m.concurrency }, lane));
  process.send({ type: 'connected', setupMs, failed, why, retried });
}

async function expect(m) {
  const t0 = BigInt(m.t0);
  const deadline = Date.now() + 15_000;
  const arrival = (s) => s.frames.find(([remaining, t]) => remaining <= m.below && t >= t0);
  while (Date.now() < deadline && !streams.every(arrival)) await new Promise((r) => setTimeout(r, 20));
  const latenciesMs = [];
  let missed = 0;
  for (const s of streams) {
    const f = arrival(s);
    if (f) latenciesMs.push(Number(f[1] - t0) / 1e6);
    else missed++;
  }
  process.send({ type: 'arrived', latenciesMs, missed });
}

process.on('message', (m) => {
  if (m.cmd === 'connect') void connect(m);
  else if (m.cmd === 'expect') void expect(m);
  else if (m.cmd === 'close') {
    for (const s of streams) s.req?.destroy();
    process.exit(0);
  }
});
// The bench gone (interrupted, killed): its IPC channel closes, and so does this process.
process.on('disconnect', () => process.exit(0));
