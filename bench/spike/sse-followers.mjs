// One process of the spike bench's `live.queue` followers (bench/spike/followers.ts forks a few):
// it opens an SSE stream per shopper the parent hands it, each from its own source address in
// 127.0.0.0/8 (so a per-IP stream cap applies per address, as with real shoppers), counts the
// ticket frames, and tells the parent when a shopper is admitted (with the token) or sees
// sold out. Plain Node, one file: the bench forks it as is.
import { connect } from 'node:net';

const streams = new Set();
let frames = 0;
let opened = 0;
let refused = 0;
let failed = 0;
/** Failed streams by error code (ECONNRESET, ETIMEDOUT, …). */
const failures = {};
let pendingFrames = 0;

// Each stream is a plain socket speaking HTTP/1.1 — the request node:http sends with
// `agent: false` (`Connection: close`), its chunked answer decoded here — so a frame costs this
// process as little as it can (it shares the machine's cores with the server).
function follow(base, saleId, u, cookie, localAddress) {
  const target = new URL(`/trpc/live.queue?input=${encodeURIComponent(JSON.stringify({ saleId }))}`, base);
  const socket = connect({ host: target.hostname, port: Number(target.port), localAddress });
  streams.add(socket);
  let told = false;
  let status = 0; // 0: head not read yet
  let raw = ''; // bytes not yet decoded (head, chunk sizes)
  let chunkLeft = 0; // bytes of the current chunk still to come
  let text = ''; // decoded SSE text not yet split into events
  const events = () => {
    let end = text.indexOf('\n\n');
    while (end >= 0) {
      const event = text.slice(0, end);
      text = text.slice(end + 2);
      end = text.indexOf('\n\n');
      // A ticket frame is a tracked frame, `data: {…}` then `id:`; named events (connected,
      // ping, return, serialized-error) begin with `event:`. Only an admitted or sold-out
      // ticket is parsed.
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
  };
  socket.setEncoding('latin1'); // bytes as they are; the frames' JSON is ASCII
  socket.on('data', (chunk) => {
    raw += chunk;
    if (status === 0) {
      const headEnd = raw.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      status = Number(raw.slice(9, 12));
      raw = raw.slice(headEnd + 4);
      if (status !== 200) {
        refused++;
        process.send?.({ type: 'lost', u });
        streams.delete(socket);
        socket.destroy();
        return;
      }
      opened++;
    }
    // Chunked transfer encoding: "<hex size>\r\n<bytes>\r\n", …, "0\r\n\r\n".
    for (;;) {
      if (chunkLeft > 0) {
        const take = Math.min(chunkLeft, raw.length);
        text += raw.slice(0, take);
        raw = raw.slice(take);
        chunkLeft -= take;
        if (chunkLeft > 0) break;
        continue;
      }
      if (raw.startsWith('\r\n')) raw = raw.slice(2); // the CRLF after a chunk
      const lineEnd = raw.indexOf('\r\n');
      if (lineEnd < 0) break;
      const size = Number.parseInt(raw.slice(0, lineEnd), 16);
      raw = raw.slice(lineEnd + 2);
      if (size === 0) break; // the stream's end
      chunkLeft = size;
    }
    events();
  });
  socket.on('error', (err) => {
    if (!streams.has(socket)) return; // closed by `stop`
    streams.delete(socket);
    failed++;
    if (!told) process.send?.({ type: 'lost', u });
    const code = err.code ?? err.message;
    failures[code] = (failures[code] ?? 0) + 1;
  });
  socket.on('close', () => streams.delete(socket));
  socket.write(
    `GET ${target.pathname}${target.search} HTTP/1.1\r\ncookie: ${cookie}\r\naccept: text/event-stream\r\nHost: ${target.host}\r\nConnection: close\r\n\r\n`,
  );
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
    for (const socket of streams) {
      streams.delete(socket);
      socket.destroy();
    }
    process.send?.({ type: 'done', frames, opened, refused, failed, failures }, () => process.exit(0));
  }
});
// The bench gone (interrupted, killed): its IPC channel closes, and so does this process.
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
