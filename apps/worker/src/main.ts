// Placeholder until the order worker lands (issue: order processing). It serves the health
// endpoints so `npm start` and docker-compose can already supervise a worker process.
import { createServer } from 'node:http';

const port = Number(process.env.WORKER_PORT ?? 9464);
const server = createServer((req, res) => {
  if (req.url === '/healthz' || req.url === '/readyz') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok","worker":"stub"}');
    return;
  }
  res.writeHead(404).end();
});
server.listen(port, () => console.log(JSON.stringify({ msg: 'worker stub listening', port })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
