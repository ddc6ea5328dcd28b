import { createServer, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A TCP proxy in front of a server that a test can stall: while stalled, nothing crosses in
 * either direction (bytes wait in the proxy), as with a server that stopped answering but whose
 * connections stay open; `resume()` delivers what waited, in order. The test owns the stall
 * completely: no signal to another process, no port anyone else could take.
 */
export async function stallProxy(target: { host?: string; port: number }) {
  const pairs = new Set<{ a: Socket; b: Socket; toB: Buffer[]; toA: Buffer[] }>();
  let stalled = false;
  const server = createServer((a) => {
    const b = tcpConnect({ host: target.host ?? '127.0.0.1', port: target.port });
    const pair = { a, b, toB: [] as Buffer[], toA: [] as Buffer[] };
    pairs.add(pair);
    a.on('data', (d) => (stalled ? pair.toB.push(d) : b.write(d)));
    b.on('data', (d) => (stalled ? pair.toA.push(d) : a.write(d)));
    const end = () => {
      a.destroy();
      b.destroy();
      pairs.delete(pair);
    };
    a.on('error', end).on('close', end);
    b.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stall(): void {
      stalled = true;
    },
    resume(): void {
      stalled = false;
      for (const p of pairs) {
        for (const d of p.toB.splice(0)) p.b.write(d);
        for (const d of p.toA.splice(0)) p.a.write(d);
      }
    },
    async close(): Promise<void> {
      for (const p of pairs) {
        p.a.destroy();
        p.b.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
