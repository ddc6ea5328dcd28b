import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { natsNames } from '@surge/contracts';
import { Ajv } from 'ajv';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { createServerMetrics } from '../../apps/server/src/infra/metrics.ts';
import { createWorkerMetrics } from '../../apps/worker/src/metrics.ts';
import { ROOT } from '../support/paths.ts';

/**
 * Validated offline: every Kubernetes manifest under deploy/k8s against the API's
 * schemas (kubernetes-models) or, for custom resources (KEDA's ScaledObject, the
 * prometheus-operator's PodMonitor), against a schema vendored in deploy/k8s/schemas; the
 * kustomizations, the Helm values, docker compose's `cluster` profile with Prometheus and
 * Grafana, and the dashboard, whose every query must name a metric the code exports.
 */
const K8S = path.join(ROOT, 'deploy/k8s');
type Doc = { apiVersion?: string; kind?: string; metadata?: { name?: string }; [k: string]: unknown };

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(name) ? [p] : [];
  });
}
const isKustomization = (f: string) => path.basename(f) === 'kustomization.yaml';
const isHelmValues = (f: string) => f.includes(`${path.sep}helm${path.sep}`);
const manifests: { file: string; doc: Doc }[] = yamlFiles(K8S)
  .filter((f) => !isKustomization(f) && !isHelmValues(f))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]?.message}`);
      return { file: path.relative(ROOT, file), doc: d.toJS() as Doc };
    }),
  );

const ajv = new Ajv({ allErrors: true, strict: false });
const schema = (name: string) =>
  ajv.compile(JSON.parse(readFileSync(path.join(K8S, 'schemas', name), 'utf8')));
const CUSTOM: Record<string, ReturnType<typeof schema>> = {
  'keda.sh/v1alpha1 ScaledObject': schema('keda-scaledobject.json'),
  'monitoring.coreos.com/v1 PodMonitor': schema('prometheus-podmonitor.json'),
};
// biome-ignore lint/suspicious/noExplicitAny: the models' constructors take their own input types
const BUILT_IN: Record<string, new (d: any) => { validate(): void }> = {
  'v1 ConfigMap': ConfigMap,
  'v1 Namespace': Namespace,
  'v1 Service': Service,
  'apps/v1 Deployment': Deployment,
  'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'batch/v1 Job': Job,
  'networking.k8s.io/v1 NetworkPolicy': NetworkPolicy,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
};
const find = (kind: string, name: string) => {
  const m = manifests.find((x) => x.doc.kind === kind && x.doc.metadata?.name === name);
  if (!m) throw new Error(`no ${kind} ${name}`);
  // biome-ignore lint/suspicious/noExplicitAny: reading nested manifest fields
  return m.doc as any;
};

describe('deploy/k8s (kustomize base + example overlay)', () => {
  it('every manifest is valid for its API (kubernetes-models, vendored CRD schemas)', () => {
    expect(manifests.length).toBeGreaterThan(10);
    for (const { file, doc } of manifests) {
      const type = `${doc.apiVersion} ${doc.kind}`;
      const custom = CUSTOM[type];
      const Model = BUILT_IN[type];
      if (custom) {
        expect(custom(doc), `${file} ${type}: ${ajv.errorsText(custom.errors)}`).toBe(true);
      } else if (Model) {
        expect(() => new Model(doc).validate(), `${file} ${type}`).not.toThrow();
      } else {
        throw new Error(`${file}: ${type} has no schema here`);
      }
    }
  });

  it('a schema refuses what it should (a ScaledObject without triggers, a typo in a Deployment)', () => {
    const so = CUSTOM['keda.sh/v1alpha1 ScaledObject'];
    expect(
      so?.({ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'x' }, spec: {} }),
    ).toBe(false);
    const bad = structuredClone(find('Deployment', 'surge-server'));
    bad.spec.replicas = 'two';
    expect(() => new Deployment(bad).validate()).toThrow();
  });

  it('every file a kustomization names exists, and the overlay sets both images', () => {
    for (const file of yamlFiles(K8S).filter(isKustomization)) {
      const k = parse(readFileSync(file, 'utf8'));
      const named = [
        ...(k.resources ?? []),
        ...(k.configMapGenerator ?? []).flatMap((g: { files: string[] }) => g.files),
      ];
      for (const r of named) expect(existsSync(path.join(path.dirname(file), r)), `${file}: ${r}`).toBe(true);
    }
    const overlay = parse(readFileSync(path.join(K8S, 'overlays/example/kustomization.yaml'), 'utf8'));
    expect(overlay.images.map((i: { name: string }) => i.name).sort()).toEqual([
      'surge-server',
      'surge-worker',
    ]);
  });

  it('servers: probes on /healthz and /readyz, a grace period longer than preStop + drain, an HPA and a PDB', () => {
    const d = find('Deployment', 'surge-server');
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.lifecycle.preStop.sleep.seconds).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(c.lifecycle.preStop.sleep.seconds + 30);
    expect(find('HorizontalPodAutoscaler', 'surge-server').spec.scaleTargetRef.name).toBe('surge-server');
    expect(find('PodDisruptionBudget', 'surge-server').spec.selector.matchLabels).toEqual(
      d.spec.selector.matchLabels,
    );
  });

  it('workers scale on the consumer the worker declares (KEDA, NATS JetStream scaler)', () => {
    const so = find('ScaledObject', 'surge-worker');
    const ns = find('ConfigMap', 'surge-config').data.SURGE_NAMESPACE;
    expect(so.spec.scaleTargetRef.name).toBe('surge-worker');
    expect(so.spec.triggers[0]).toMatchObject({
      type: 'nats-jetstream',
      metadata: { stream: natsNames(ns).stream, consumer: natsNames(ns).consumer },
    });
  });

  it('secrets are referenced, never embedded', () => {
    expect(manifests.filter((m) => m.doc.kind === 'Secret')).toEqual([]);
    const SECRET = /^(DATABASE_URL|REDIS_URL|NATS_URL|ADMIN_PASSWORD|SESSION_SECRET|METRICS_TOKEN)$/;
    for (const name of ['surge-server', 'surge-worker']) {
      for (const e of find('Deployment', name).spec.template.spec.containers[0].env)
        if (SECRET.test(e.name))
          expect(e.valueFrom?.secretKeyRef?.name, `${name} ${e.name}`).toBe('surge-secrets');
    }
    for (const key of Object.keys(find('ConfigMap', 'surge-config').data)) expect(key).not.toMatch(SECRET);
  });

  it('Helm values: NATS clustered with JetStream (R3 possible), Redis Cluster 3 + 3 that never evicts', () => {
    const nats = helmValues('nats-values.yaml');
    expect(nats.config.cluster).toMatchObject({ enabled: true, replicas: 3 });
    expect(nats.config.jetstream.enabled).toBe(true);
    const redis = helmValues('redis-cluster-values.yaml');
    expect(redis.cluster).toMatchObject({ nodes: 6, replicas: 1 });
    expect(redis.redis.configmap).toMatch(/maxmemory-policy noeviction/);
  });

  it("Helm values: NATS users with deploy/nats.conf's permissions, passwords from a Secret", () => {
    expect(natsUserProblems(helmValues('nats-values.yaml'))).toEqual([]);
    // The servers' and the workers' NATS_URL come from different keys: each its own user.
    const key = (d: string) =>
      find('Deployment', d).spec.template.spec.containers[0].env.find(
        (e: { name: string }) => e.name === 'NATS_URL',
      ).valueFrom.secretKeyRef.key;
    expect([key('surge-server'), key('surge-worker')]).toEqual(['NATS_URL', 'NATS_WORKER_URL']);
  });

  it('Helm values: a NATS user with more rights, a literal password or no password fails', () => {
    const v = helmValues('nats-values.yaml');
    const users = v.config.merge.accounts.SURGE.users;
    users[1].permissions.publish.allow.push('*.orders.>');
    users[0].password = 'hunter2';
    users.push({ user: 'anyone' });
    expect(natsUserProblems(v)).toEqual([
      'surge-server: password not from a Secret',
      'surge-worker: publish allow differs from deploy/nats.conf',
      'anyone: not a user of deploy/nats.conf',
    ]);
  });

  it('Helm values: Redis authenticates with passwords and an ACL file from Secrets, the apps as `surge`', () => {
    expect(redisAuthProblems(helmValues('redis-cluster-values.yaml'))).toEqual([]);
    const v = helmValues('redis-cluster-values.yaml');
    v.password = 'hunter2';
    v.redis.configmap = v.redis.configmap.replace(/aclfile .*/, '');
    expect(redisAuthProblems(v)).toHaveLength(2);
  });
});

// biome-ignore lint/suspicious/noExplicitAny: Helm values are free-form
function helmValues(name: string): any {
  return parse(readFileSync(path.join(K8S, 'overlays/example/helm', name), 'utf8'));
}

/** Each user's permissions in deploy/nats.conf (the single-node and compose configuration). */
function natsConfPermissions(): Map<string, { pub: string[]; deny: string[]; sub: string[] }> {
  const conf = readFileSync(path.join(ROOT, 'deploy/nats.conf'), 'utf8');
  const out = new Map<string, { pub: string[]; deny: string[]; sub: string[] }>();
  for (const block of conf.split(/\buser:\s*/).slice(1)) {
    const name = block.split(/\s/)[0] ?? '';
    const list = (re: RegExp) =>
      [...(re.exec(block)?.[1] ?? '').matchAll(/"([^"]+)"/g)].map((m) => m[1] ?? '');
    out.set(name, {
      pub: list(/publish:\s*\{\s*allow:\s*\[([^\]]*)\]/),
      deny: list(/deny:\s*\[([^\]]*)\]/),
      sub: list(/subscribe:\s*\{\s*allow:\s*\[([^\]]*)\]/),
    });
  }
  return out;
}

/**
 * What is wrong with the NATS chart's users: exactly deploy/nats.conf's users, each with its
 * permissions (no more, no fewer subjects), a password that is an environment variable of the
 * container, and that variable read from a Secret.
 */
// biome-ignore lint/suspicious/noExplicitAny: Helm values are free-form
function natsUserProblems(v: any): string[] {
  const problems: string[] = [];
  const want = natsConfPermissions();
  const accounts = v.config?.merge?.accounts ?? {};
  const users = Object.values(accounts).flatMap((a) => (a as { users?: unknown[] }).users ?? []) as {
    user: string;
    password?: string;
    permissions?: { publish?: { allow?: string[]; deny?: string[] }; subscribe?: { allow?: string[] } };
  }[];
  const sorted = (xs: string[] | undefined) => [...(xs ?? [])].sort();
  for (const u of users) {
    const w = want.get(u.user);
    if (!w) {
      problems.push(`${u.user}: not a user of deploy/nats.conf`);
      continue;
    }
    const p = u.permissions;
    if (JSON.stringify(sorted(p?.publish?.allow)) !== JSON.stringify(sorted(w.pub)))
      problems.push(`${u.user}: publish allow differs from deploy/nats.conf`);
    if (JSON.stringify(sorted(p?.publish?.deny)) !== JSON.stringify(sorted(w.deny)))
      problems.push(`${u.user}: publish deny differs from deploy/nats.conf`);
    if (JSON.stringify(sorted(p?.subscribe?.allow)) !== JSON.stringify(sorted(w.sub)))
      problems.push(`${u.user}: subscribe allow differs from deploy/nats.conf`);
    const envVar = /^<< \$([A-Z_]+) >>$/.exec(u.password ?? '')?.[1];
    const ref = envVar ? v.container?.env?.[envVar]?.valueFrom?.secretKeyRef : undefined;
    if (!ref?.name || !ref?.key) problems.push(`${u.user}: password not from a Secret`);
  }
  for (const name of want.keys())
    if (!users.some((u) => u.user === name)) problems.push(`${name}: missing from the Helm values`);
  if (want.size < 2) problems.push('deploy/nats.conf: users not found');
  return problems;
}

/** What is wrong with the Redis chart's authentication (see redis-cluster-values.yaml). */
// biome-ignore lint/suspicious/noExplicitAny: Helm values are free-form
function redisAuthProblems(v: any): string[] {
  const problems: string[] = [];
  if (v.usePassword !== true || v.password !== '' || !v.existingSecret || !v.existingSecretPasswordKey)
    problems.push('the password is not from a Secret');
  const acl = /^aclfile (\S+)$/m.exec(v.redis?.configmap ?? '')?.[1];
  const mount = (v.redis?.extraVolumeMounts ?? []).find(
    (m: { mountPath: string }) => acl && path.posix.dirname(acl) === m.mountPath,
  );
  const volume = (v.redis?.extraVolumes ?? []).find((x: { name: string }) => x.name === mount?.name);
  if (!acl || !volume?.secret?.secretName) problems.push('no ACL file from a Secret');
  return problems;
}

describe('monitoring: Prometheus, Grafana, the dashboard', () => {
  const exported = new Set<string>(['up']); // `up`: Prometheus's own, per scrape target
  beforeAll(async () => {
    for (const registry of [createServerMetrics().registry, createWorkerMetrics().registry])
      for (const m of await registry.getMetricsAsJSON()) {
        exported.add(m.name);
        if (String(m.type) === 'histogram')
          for (const s of ['_bucket', '_sum', '_count']) exported.add(`${m.name}${s}`);
      }
  });

  it('every dashboard query names only metrics the server and the worker export', () => {
    const dashboard = JSON.parse(readFileSync(path.join(K8S, 'monitoring/dashboards/surge.json'), 'utf8'));
    const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) =>
      p.targets.map((t) => t.expr),
    );
    expect(exprs.length).toBeGreaterThan(8);
    for (const expr of exprs) {
      // Metric names: identifiers not followed by "(" (functions), outside {…}, […] and by (…).
      const bare = expr
        .replace(/\{[^}]*\}/g, '')
        .replace(/\[[^\]]*\]/g, '')
        .replace(/\b(by|without)\s*\([^)]*\)/g, '');
      const names = [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
        .filter(
          (m) =>
            !bare
              .slice((m.index ?? 0) + m[0].length)
              .trimStart()
              .startsWith('('),
        )
        .map((m) => m[0]);
      expect(names.length, expr).toBeGreaterThan(0);
      for (const n of names) expect(exported.has(n), `${expr}: ${n} is not exported`).toBe(true);
    }
  });

  it('README.md#security (issue 10 L2): every scrape sends the METRICS_TOKEN bearer; every app gets the token', () => {
    const monitor = find('PodMonitor', 'surge');
    for (const e of monitor.spec.podMetricsEndpoints)
      expect(e.authorization, e.port).toEqual({
        type: 'Bearer',
        credentials: { name: 'surge-secrets', key: 'METRICS_TOKEN' },
      });
    for (const name of ['surge-server', 'surge-worker'])
      expect(
        find('Deployment', name).spec.template.spec.containers[0].env.find(
          (e: { name: string }) => e.name === 'METRICS_TOKEN',
        )?.valueFrom?.secretKeyRef,
        name,
      ).toEqual({ name: 'surge-secrets', key: 'METRICS_TOKEN' });
    expect(find('ConfigMap', 'surge-config').data.ALLOWED_ORIGINS).toMatch(/^https:\/\//);
    const prom = parse(readFileSync(path.join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8'));
    for (const job of prom.scrape_configs)
      expect(job.authorization, job.job_name).toEqual({
        type: 'Bearer',
        credentials_file: '/run/secrets/metrics_token',
      });
    const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
    expect(compose.services.prometheus.secrets).toContain('metrics_token');
    expect(compose.secrets.metrics_token).toEqual({ environment: 'METRICS_TOKEN' });
  });

  it('docker compose `cluster` profile: the topology, Prometheus scraping every server and worker, Grafana provisioned', () => {
    const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
    const cluster = Object.entries(compose.services as Record<string, { profiles?: string[] }>)
      .filter(([, s]) => s.profiles?.includes('cluster'))
      .map(([name]) => name);
    expect(cluster.sort()).toEqual(
      [
        ...['nats-1', 'nats-2', 'nats-3', 'redis-cluster-init', 'haproxy', 'prometheus', 'grafana'],
        ...['redis-1', 'redis-2', 'redis-3', 'redis-4', 'redis-5', 'redis-6'],
        ...['server-1', 'server-2', 'worker-1', 'worker-2'],
      ].sort(),
    );
    for (const s of ['server-1', 'worker-1'])
      expect(compose.services[s].environment).toMatchObject({ REDIS_CLUSTER: 'true', STREAM_REPLICAS: '3' });
    const prom = parse(readFileSync(path.join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8'));
    const targets = prom.scrape_configs.flatMap((j: { static_configs: { targets: string[] }[] }) =>
      j.static_configs.flatMap((c) => c.targets),
    );
    expect(targets.sort()).toEqual(['server-1:3000', 'server-2:3000', 'worker-1:9464', 'worker-2:9464']);
    expect(compose.services.grafana.volumes).toContain(
      './deploy/k8s/monitoring/dashboards:/var/lib/grafana/dashboards:ro',
    );
    const haproxy = readFileSync(path.join(ROOT, 'deploy/haproxy/cluster.cfg'), 'utf8');
    expect(haproxy).toMatch(/option httpchk GET \/readyz/);
    expect(haproxy).toMatch(/option forwardfor/);
  });
});
