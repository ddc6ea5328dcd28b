// HAProxy in front of Surge's servers: `npm run cluster` and the tests write the same
// configuration. Debian's package (`apt-get install -y haproxy`, 2.6) is the load balancer.
import { existsSync } from 'node:fs';

/** The haproxy binary, or null (then say: apt-get install -y haproxy). */
export function haproxyBinary() {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'])
    if (existsSync(`${dir}/haproxy`)) return `${dir}/haproxy`;
  return null;
}

export const HAPROXY_MISSING =
  'haproxy is not installed: apt-get install -y haproxy (Debian/Ubuntu), dnf install haproxy, brew install haproxy';

/**
 * The configuration: HTTP on `port`, round robin over `servers` ({name, port}), health checks on
 * /readyz every 500 ms (two failures take a server out, two successes put it back), a request
 * whose connection failed retried on another server (never one that reached a server: an order
 * must not be placed twice by the balancer), `option forwardfor` for the servers' TRUST_PROXY,
 * and long-lived tunnels for the live subscriptions (SSE). `statsPort`: HAProxy's own page.
 */
export function haproxyConfig({ port, servers, statsPort, bind = '127.0.0.1' }) {
  return `global
  maxconn 4000

defaults
  mode http
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  timeout tunnel 1h
  timeout http-keep-alive 30s
  retries 3
  retry-on conn-failure
  option redispatch 1

frontend surge
  bind ${bind}:${port}
  option forwardfor
  default_backend servers
${statsPort ? `\nfrontend stats\n  bind ${bind}:${statsPort}\n  stats enable\n  stats uri /\n  stats refresh 2s\n` : ''}
backend servers
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  # A check waits up to 2 s: a server slowed by load is not taken out (the only one would mean
  # HAProxy answers 503 itself); a dead one refuses the connection at once.
  timeout check 2s
  default-server inter 500ms fall 2 rise 2
${servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port} check`).join('\n')}
`;
}
