// docker-compose.yml, the Dockerfiles and .env.example must not drift apart: there is no Docker
// engine in CI, so these static checks are what keeps the compose deployment honest.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Variables of .env.example that compose deliberately leaves to the app's default:
 * - HOST: the server's default 0.0.0.0 is what a container needs.
 * - WEB_DIST: the default (apps/web/dist beside the bundle) is where the image has it.
 * - VITE_DEV_PORT: only for `npm run dev`; there is no Vite dev server in the images.
 * - WORKER_ID: each replica must keep its own default (container hostname + pid); one value
 *   from compose would give every `--scale worker=N` replica the same name on the HUD.
 */
const NOT_IN_COMPOSE = new Set(['HOST', 'DEV_LISTEN_ANY', 'WEB_DIST', 'VITE_DEV_PORT', 'WORKER_ID']);
const APP_SERVICES = ['server', 'worker'] as const;
const SERVICES = ['postgres', 'redis', 'nats', 'migrate', 'server', 'worker'] as const;

type Healthcheck = { test?: string | string[]; disable?: boolean };
type DependsOn = string[] | Record<string, { condition?: string }>;
type Service = {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | { target?: number; published?: string | number })[];
  expose?: (string | number)[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  healthcheck?: Healthcheck;
  depends_on?: DependsOn;
};
type Compose = { services?: Record<string, Service>; volumes?: Record<string, unknown> };

let compose: Compose;
let example: Map<string, string>;

function service(name: string): Service {
  const s = compose.services?.[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
}

function words(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v.map(String) : v.trim().split(/\s+/);
}

function env(name: string): Record<string, string> {
  const e = service(name).environment;
  if (!e) return {};
  if (Array.isArray(e)) {
    return Object.fromEntries(
      e.map((kv) => {
        const i = kv.indexOf('=');
        return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function healthTest(name: string): string {
  const hc = service(name).healthcheck;
  if (!hc || hc.disable) return '';
  const t = words(hc.test);
  if (t.length === 0 || t[0] === 'NONE') return '';
  return t.join(' ');
}

function dependsOn(name: string): Record<string, string | undefined> {
  const d = service(name).depends_on;
  if (!d) return {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((n) => [n, undefined]));
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v?.condition]));
}

function dockerfile(name: string): string {
  const b = service(name).build;
  if (b === undefined) throw new Error(`service ${name} has no build`);
  const ctx = typeof b === 'string' ? b : (b.context ?? '.');
  const file = typeof b === 'string' ? 'Dockerfile' : (b.dockerfile ?? 'Dockerfile');
  return path.join(ROOT, ctx, file);
}

/** The exec-form CMD of a Dockerfile's last stage. */
function dockerCmd(file: string): string[] {
  const cmds = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /^CMD\s/.test(l));
  const last = cmds.at(-1);
  if (!last) throw new Error(`${file} has no CMD`);
  return JSON.parse(last.replace(/^CMD\s+/, '')) as string[];
}

/** Volume mounts as target → source. */
function mounts(name: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of service(name).volumes ?? []) {
    if (typeof v === 'string') {
      const [source = '', target = ''] = v.split(':');
      out.set(target, source);
    } else if (v.target) out.set(v.target, v.source ?? '');
  }
  return out;
}

beforeAll(() => {
  compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as Compose;
  example = new Map();
  for (const line of readFileSync(path.join(ROOT, '.env.example'), 'utf8').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m?.[1]) example.set(m[1], m[2] ?? '');
  }
});

describe('docker-compose.yml', () => {
  it('has the six services', () => {
    expect(Object.keys(compose.services ?? {}).sort()).toEqual(expect.arrayContaining([...SERVICES].sort()));
  });

  it('runs Redis with AOF and noeviction on a volume', () => {
    const cmd = words(service('redis').command).join(' ');
    expect(cmd).toMatch(/--appendonly\s+yes\b/);
    expect(cmd).toMatch(/--maxmemory-policy\s+noeviction\b/);
    expect(compose.volumes).toHaveProperty(mounts('redis').get('/data') ?? '(no /data volume)');
  });

  it('runs NATS with JetStream on a file store kept on a volume, and monitoring on 8222', () => {
    const cmd = words(service('nats').command);
    expect(cmd.some((w) => w === '-js' || w === '--jetstream')).toBe(true);
    const i = cmd.findIndex((w) => w === '-sd' || w === '--store_dir');
    expect(i).toBeGreaterThanOrEqual(0);
    const storeDir = cmd[i + 1] ?? '';
    expect(storeDir).toMatch(/^\//);
    const volume = mounts('nats').get(storeDir);
    expect(volume, `no volume mounted at the store dir ${storeDir}`).toBeTruthy();
    expect(compose.volumes).toHaveProperty(volume ?? '');
    const m = cmd.findIndex((w) => w === '-m' || w === '--http_port');
    expect(cmd[m + 1]).toBe('8222');
  });

  it('keeps PostgreSQL data on a volume', () => {
    expect(compose.volumes).toHaveProperty(mounts('postgres').get('/var/lib/postgresql/data') ?? '(none)');
  });

  it('publishes the server on 3000 and exposes the worker health port 9464', () => {
    const ports = (service('server').ports ?? []).map((p) =>
      typeof p === 'object' ? `${p.published}:${p.target}` : String(p),
    );
    expect(ports.some((p) => /(^|:)3000:3000$/.test(p))).toBe(true);
    const worker = service('worker');
    const workerPorts = [...(worker.expose ?? []), ...(worker.ports ?? [])].map((p) =>
      typeof p === 'object' ? String(p.target) : String(p),
    );
    expect(workerPorts.some((p) => /(^|:)9464(\/tcp)?$/.test(p))).toBe(true);
  });

  it('has healthchecks on postgres, redis, nats, server and worker', () => {
    expect(healthTest('postgres')).toContain('pg_isready');
    expect(healthTest('redis')).toMatch(/redis-cli.*ping/);
    expect(healthTest('nats')).toMatch(/:8222\/healthz/);
    expect(healthTest('server')).toMatch(/:3000\/readyz/);
    expect(healthTest('worker')).toMatch(/:9464\/readyz/);
  });

  it('starts server and worker after healthy stores and a successful migrate', () => {
    for (const name of APP_SERVICES) {
      expect(dependsOn(name), name).toMatchObject({
        postgres: 'service_healthy',
        redis: 'service_healthy',
        nats: 'service_healthy',
        migrate: 'service_completed_successfully',
      });
    }
    expect(dependsOn('migrate')).toMatchObject({ postgres: 'service_healthy' });
  });

  it('migrates then seeds in the one-shot migrate service', () => {
    const cmd = words(service('migrate').command).join(' ');
    // Plain node: the runtime image has no tsx (README.md#security, issue 10 L8).
    expect(cmd).toMatch(/^sh -c node packages\/db\/dist\/migrate\.js deploy && node prisma\/dist\/seed\.js$/);
  });

  it('gives server and worker the same environment but their NATS user, in production', () => {
    const { NATS_URL: workerNats, ...worker } = env('worker');
    const { NATS_URL: serverNats, ...server } = env('server');
    expect(worker).toEqual(server);
    expect(new URL(serverNats ?? '').username).toBe('surge-server');
    expect(new URL(workerNats ?? '').username).toBe('surge-worker');
    expect(env('migrate')).toEqual(env('server'));
    expect(env('server').NODE_ENV).toBe('production');
  });

  it('sets every variable of .env.example (but the allow-listed) for the apps', () => {
    expect(example.size).toBeGreaterThan(10);
    for (const name of NOT_IN_COMPOSE)
      expect(example.has(name), `${name} is allow-listed but not in .env.example`).toBe(true);
    const missing = [...example.keys()].filter((k) => !NOT_IN_COMPOSE.has(k) && !(k in env('server')));
    expect(missing).toEqual([]);
  });

  it('sets no variable that .env.example does not list', () => {
    for (const name of [...APP_SERVICES, 'migrate']) {
      const unknown = Object.keys(env(name)).filter((k) => !example.has(k));
      expect(unknown, name).toEqual([]);
    }
  });

  it('defaults each overridable variable to its .env.example value', () => {
    let checked = 0;
    for (const [key, value] of Object.entries(env('server'))) {
      const m = /^\$\{([A-Z0-9_]+):-(.*)\}$/.exec(value);
      if (!m) continue;
      checked++;
      expect(m[1], `${key} reads another variable`).toBe(key);
      expect(m[2], `default of ${key}`).toBe(example.get(key));
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('points the apps at the compose services on their default ports', () => {
    const e = env('server');
    const expected = {
      DATABASE_URL: ['postgresql:', 'postgres', '5432'],
      REDIS_URL: ['redis:', 'redis', '6379'],
      NATS_URL: ['nats:', 'nats', '4222'],
    };
    for (const [key, [protocol, host, port]] of Object.entries(expected)) {
      const url = new URL(e[key] ?? '');
      expect([url.protocol, url.hostname, url.port], key).toEqual([protocol, host, port]);
    }
    expect(new URL(e.DATABASE_URL ?? '').pathname).toBe('/surge');
  });

  it("README.md#security: every store needs credentials, carried in the apps' URLs", () => {
    expect(env('postgres').POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?.+\}$/);
    expect(env('postgres')).not.toHaveProperty('POSTGRES_HOST_AUTH_METHOD');
    expect(env('redis').REDIS_PASSWORD).toMatch(/^\$\{REDIS_PASSWORD:\?.+\}$/);
    expect(words(service('redis').command).join(' ')).toMatch(
      /--user default off --user surge on >\$\{REDIS_PASSWORD\}/,
    );
    expect(env('nats')).toMatchObject({
      NATS_SERVER_PASSWORD: expect.stringMatching(/^\$\{NATS_SERVER_PASSWORD:\?/),
      NATS_WORKER_PASSWORD: expect.stringMatching(/^\$\{NATS_WORKER_PASSWORD:\?/),
    });
    expect(mounts('nats').get('/etc/nats/surge.conf')).toBe('./deploy/nats.conf');
    const e = env('server');
    expect(new URL(e.DATABASE_URL ?? '').password).not.toBe('');
    expect(new URL(e.REDIS_URL ?? '').username).toBe('surge');
    expect(new URL(e.REDIS_URL ?? '').password).not.toBe('');
  });
  it('requires ADMIN_PASSWORD and SESSION_SECRET (no default secrets)', () => {
    const e = env('server');
    expect(e.ADMIN_PASSWORD).toMatch(/^\$\{ADMIN_PASSWORD:\?.+\}$/);
    expect(e.SESSION_SECRET).toMatch(/^\$\{SESSION_SECRET:\?.+\}$/);
  });
});

/**
 * What is wrong with the credentials of the `cluster` profile (README.md#security, as the
 * single-node stores): every NATS node runs deploy/nats.conf (no anonymous client; servers
 * publish, workers consume) with both passwords required; every Redis node turns the default
 * user off, gives the apps the ACL user `surge` without administrative commands, replicates as
 * `surge-replica` (masteruser/masterauth, PSYNC/REPLCONF/PING only) and refuses to start without
 * the cluster-only passwords; the init joins them as `surge-admin`; every app URL (each seed)
 * carries its user and password.
 */
function clusterCredentialProblems(c: Compose): string[] {
  const problems: string[] = [];
  const cluster = Object.entries(c.services ?? {}).filter(([, s]) =>
    (s as { profiles?: string[] }).profiles?.includes('cluster'),
  );
  const envOf = (s: Service): Record<string, string> =>
    Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v ?? '')]));
  const required = (s: Service, name: string, v: string) =>
    new RegExp(`^\\$\\{${v}:\\?.+\\}$`).test(envOf(s)[v] ?? '') ||
    problems.push(`${name}: ${v} not required`);
  for (const [name, s] of cluster) {
    const cmd = words(s.command).join(' ');
    const mounted = (s.volumes ?? []).map(String);
    if (s.image?.startsWith('nats:')) {
      // deploy/nats-cluster.conf includes ./nats.conf: both beside each other in /etc/nats.
      if (!/(^|\s)-c \/etc\/nats\/nats-cluster\.conf(\s|$)/.test(cmd))
        problems.push(`${name}: not run with deploy/nats-cluster.conf`);
      if (/--cluster|--routes/.test(cmd)) problems.push(`${name}: routes outside deploy/nats-cluster.conf`);
      for (const file of ['nats.conf', 'nats-cluster.conf'])
        if (!mounted.includes(`./deploy/${file}:/etc/nats/${file}:ro`))
          problems.push(`${name}: ${file} not mounted`);
      required(s, name, 'NATS_SERVER_PASSWORD');
      required(s, name, 'NATS_WORKER_PASSWORD');
      required(s, name, 'NATS_ROUTE_PASSWORD');
      const env = envOf(s);
      for (const i of [1, 2, 3])
        if (env[`NATS_ROUTE_${i}`] !== `nats-route://surge-route:\${NATS_ROUTE_PASSWORD}@nats-${i}:6222`)
          problems.push(`${name}: seed route ${i} without the route password`);
    } else if (s.image?.startsWith('redis:') && name !== 'redis-cluster-init') {
      const expect = [
        /test -n "\$\$REDIS_REPLICA_PASSWORD" && test -n "\$\$REDIS_ADMIN_PASSWORD" \|\|.*exit 1/,
        /--user default off(\s|$)/,
        /--user surge on ">\$\$REDIS_PASSWORD" "~\*" "&\*" \+@all -@admin -flushall -flushdb \+lastsave(\s|$)/,
        /--masteruser surge-replica --masterauth "\$\$REDIS_REPLICA_PASSWORD"/,
        /--user surge-replica on ">\$\$REDIS_REPLICA_PASSWORD" \+psync \+replconf \+ping(\s|$)/,
        /--user surge-admin on ">\$\$REDIS_ADMIN_PASSWORD"/,
      ];
      for (const re of expect) if (!re.test(cmd)) problems.push(`${name}: command lacks ${re}`);
      required(s, name, 'REDIS_PASSWORD');
      const hc = words(s.healthcheck?.test).join(' ');
      if (!/--user surge --pass "\$\$REDIS_PASSWORD" ping/.test(hc))
        problems.push(`${name}: healthcheck without auth`);
    } else if (name === 'redis-cluster-init') {
      if (!/--user surge-admin --cluster create/.test(cmd))
        problems.push(`${name}: not joined as surge-admin`);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's interpolation, literally
      if (envOf(s).REDISCLI_AUTH !== '${REDIS_ADMIN_PASSWORD:-}') problems.push(`${name}: no REDISCLI_AUTH`);
    } else if (s.build) {
      const e = envOf(s);
      const role = name.startsWith('worker') ? 'surge-worker' : 'surge-server';
      const seeds = (v: string) => (e[v] ?? '').split(',').map((u) => new URL(u));
      for (const u of seeds('NATS_URL'))
        if (u.username !== role || u.password === '')
          problems.push(`${name}: NATS seed ${u.host} not as ${role}`);
      for (const u of seeds('REDIS_URL'))
        if (u.username !== 'surge' || u.password === '')
          problems.push(`${name}: Redis seed ${u.host} not as surge`);
      if (seeds('DATABASE_URL')[0]?.password === '') problems.push(`${name}: DATABASE_URL without password`);
    }
  }
  return problems;
}

describe('docker-compose.yml `cluster` profile', () => {
  it('carries the same credentials as the single-node stores (NATS users, Redis ACL, PostgreSQL password)', () => {
    const names = Object.keys(compose.services ?? {});
    for (const n of ['nats-1', 'redis-1', 'redis-cluster-init', 'server-1', 'worker-2'])
      expect(names, n).toContain(n);
    expect(clusterCredentialProblems(compose)).toEqual([]);
  });

  it('fails a cluster service without credentials', () => {
    const broken = structuredClone(compose);
    const svc = broken.services as Record<string, Service>;
    (svc['redis-2'] as Service).command = words(svc['redis-2']?.command)
      .join(' ')
      .replace('--user default off', '');
    delete (svc['nats-3'] as Service).command;
    const setEnv = (name: string, k: string, v: string) => {
      const target = svc[name] as Service;
      target.environment = { ...(target.environment as Record<string, string>), [k]: v };
    };
    setEnv('worker-1', 'NATS_URL', 'nats://nats-1:4222');
    setEnv('server-2', 'REDIS_URL', 'redis://redis-1:6379');
    setEnv('nats-2', 'NATS_ROUTE_1', 'nats-route://nats-1:6222');
    const problems = clusterCredentialProblems(broken).join('\n');
    for (const who of ['redis-2', 'nats-3', 'worker-1', 'server-2']) expect(problems).toContain(`${who}:`);
    expect(problems).toContain('nats-2: seed route 1 without the route password');
  });
});

describe('Dockerfiles', () => {
  it.each([
    ['server', 'apps/server/Dockerfile', 'apps/server/dist/main.js'],
    ['worker', 'apps/worker/Dockerfile', 'apps/worker/dist/main.js'],
    ['migrate', 'apps/server/Dockerfile', 'apps/server/dist/main.js'],
  ])('%s builds from %s, which runs %s as node in production', (name, expectedFile, main) => {
    const file = dockerfile(name);
    expect(path.relative(ROOT, file)).toBe(expectedFile);
    expect(existsSync(file)).toBe(true);
    expect(dockerCmd(file)).toEqual(['node', main]);
    const text = readFileSync(file, 'utf8');
    const runtime = text.slice(text.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^FROM node:24-bookworm-slim/m);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/NODE_ENV=production/);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n?.*readyz/m);
  });

  it('keeps node_modules, builds and local secrets out of the build context', () => {
    const ignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', 'dist', '.turbo', '.env.local', '.git']) {
      expect(
        ignore.some((l) => l.trim() === entry || l.trim() === `**/${entry}`),
        entry,
      ).toBe(true);
    }
  });
});
