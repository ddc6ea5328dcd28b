// One process of the spike bench's `live.queue` followers (bench/spike/followers.ts forks a few):
// it opens an SSE stream per shopper the parent hands it, each from its own source address in
// 127.0.0.0/8 (so a per-IP stream cap applies per address, as with real shoppers), counts the
// ticket frames, and tells the parent when a shopper is admitted (with the token) or sees
// sold out. Plain Node, one file: the bench forks it as is.
import { request } from 'node:http';

const streams = new Set();
let frames = 0;
let opened = 0;
let refused = 0;
let failed = 0;
/** Failed streams by error code (ECONNRESET, ETIMEDOUT, …). */
const failures = {};
let pendingFrames = 0;

function follow(base, saleId, u, cookie, localAddress) {
  const input = encodeURIComponent(JSON.stringify({ saleId }));
  const target = new URL(`/trpc/live.queue?input=${input}`, base);
  const req = request({
    hostname: target.hostname,
    port: target.port,
    path: `${target.pathname}${target.search}`,
    method: 'GET',
    headers: { cookie, accept: 'text/event-stream' },
    localAddress,
    agent: false,
  });
  streams.add(req);
  let told = false;
  req.on('response', (res) => {
    if (res.statusCode !== 200) {
      refused++;
      process.send?.({ type: 'lost', u });
      res.resume();
      return;
    }
    opened++;
    res.setEncoding('utf8');
    let buf = '';
    res.on('data', (chunk) => {
      buf += chunk;
      let end = buf.indexOf('\n\n');
      while (end >= 0) {
        const event = buf.slice(0, end);
        buf = buf.slice(end + 2);
        end = buf.indexOf('\n\n');
        // A ticket frame is a tracked frame, `data: {…}` then `id:`; named events (connected,
        // ping, return, serialized-error) begin with `event:`. Only an admitted or sold-out
        // ticket is parsed (the client's own CPU shares the machine with the server).
        let at = 0; // an event ends with a blank line, tRPC's with two: skip the extra newline
        while (event.charCodeAt(at) === 10) at++;
        if (!event.startsWith('data: {', at)) continue;
        frames++;
        pendingFrames++;
        if (told) continue;
        const admitted = event.includes('"state":"admitted"');
        if (!admitted && !event.includes('"state":"soldout"')) continue;
        let ticket;
        try {
          ticket = JSON.parse(event.slice(at + 6, event.indexOf('\n', at)));
        } catch {
          continue;
        }
        told = true;
        if (admitted) process.send?.({ type: 'admitted', u, token: ticket.admissionToken });
        else process.send?.({ type: 'soldout', u });
      }
    });
    res.on('error', () => undefined);
  });
  req.on('error', (err) => {
    if (!streams.has(req)) return; // closed by `stop`
    failed++;
    if (!told) process.send?.({ type: 'lost', u });
    const code = err.code ?? err.message;
    failures[code] = (failures[code] ?? 0) + 1;
  });
  req.end();
}

const tick = setInterval(() => {
  process.send?.({ type: 'frames', n: pendingFrames, settled: opened + refused + failed });
  pendingFrames = 0;
}, 250);

// Streams open at most 50 per 100 ms per process: a burst of thousands of connects at once
// overflows the server's listen backlog (SYNs dropped, retried seconds later).
const toOpen = [];
const opener = setInterval(() => {
  for (const s of toOpen.splice(0, 50)) follow(s.base, s.saleId, s.u, s.cookie, s.localAddress);
}, 100);

process.on('message', (m) => {
  if (m.type === 'follow') {
    for (const s of m.shoppers) toOpen.push({ ...s, base: m.base, saleId: m.saleId });
  } else if (m.type === 'stop') {
    clearInterval(tick);
    clearInterval(opener);
    for (const req of streams) {
      streams.delete(req);
      req.destroy();
    }
    process.send?.({ type: 'done', frames, opened, refused, failed, failures }, () => process.exit(0));
  }
});
process.send?.({ type: 'ready' });
