import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../support/paths.ts';
import { bin, type PrivateServer, privateServer } from '../support/private-servers.ts';
import { makeR3Stream } from '../support/r3-stream.ts';
import { eventually, freePort, sleep } from '../support/services.ts';

const EXAMPLE = join(ROOT, 'deploy/k8s/overlays/example');

/**
 * README.md#security, Kubernetes: the NATS chart's routes authenticate with mutual TLS
 * (helm/nats-values.yaml), with certificates made by the overlay's nats-route-tls.sh. Three
 * private nats-servers get the cluster block the chart renders from those values (its
 * files/config/cluster.yaml and tls.yaml: `tls://` route URLs, cert_file/key_file from the
 * route Secret, ca_file from tlsCA, the values' `merge`) and form a cluster with an R3 stream;
 * a node with no TLS, or with a certificate another CA signed, never gets a route.
 */
describe('NATS routes in Kubernetes need a certificate of the route CA', () => {
  const started: PrivateServer[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'surge-route-tls-'));
  afterAll(async () => {
    for (const s of started) await s.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  // Every port of the test distinct (route and monitor ports are written into config files:
  // a port handed out twice would fail the test, not retry).
  const used = new Set<number>();
  const uniquePort = async (): Promise<number> => {
    for (;;) {
      const p = await freePort();
      if (!used.has(p)) {
        used.add(p);
        return p;
      }
    }
  };
  const monitorOf = new Map<PrivateServer, number>();
  const routesOf = async (s: PrivateServer): Promise<number> => {
    const r = await fetch(`http://127.0.0.1:${monitorOf.get(s)}/routez`);
    return ((await r.json()) as { num_routes: number }).num_routes;
  };
  const certs = (name: string) => {
    execFileSync(join(EXAMPLE, 'nats-route-tls.sh'), [join(dir, name), 'DNS:localhost', 'IP:127.0.0.1'], {
      stdio: 'ignore',
    });
    return join(dir, name);
  };
  /** A node from a config file, with client and monitor ports of its own (and JetStream). */
  const node = async (name: string, conf: string, jetstream = true) => {
    const file = join(dir, `${name}.conf`);
    writeFileSync(file, conf);
    const monitor = await uniquePort();
    const s = await privateServer(
      name,
      (port, store) => [
        bin('nats-server'),
        ['-c', file, '-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-n', name].concat(
          jetstream ? ['-js', '-sd', store] : [],
        ),
      ],
      (port) => `nats://127.0.0.1:${port}`,
      { pickPort: uniquePort },
    );
    started.push(s);
    monitorOf.set(s, monitor);
    return s;
  };

  it("the script's certificate, by default, names every route host the chart dials; bad input is refused", () => {
    // biome-ignore lint/suspicious/noExplicitAny: Helm values are free-form
    const values: any = parse(readFileSync(join(EXAMPLE, 'helm/nats-values.yaml'), 'utf8'));
    const script = join(EXAMPLE, 'nats-route-tls.sh');
    const out = join(dir, 'defaults');
    execFileSync(script, [out], { stdio: 'ignore' });
    // The chart's route URLs: <statefulSet>-<i>.<headless service>[.<namespace>.svc.<domain>], for
    // release `nats` in the overlay's namespace (kustomization.yaml: surge).
    const hosts = Array.from({ length: values.config.cluster.replicas }, (_, i) => `nats-${i}.nats-headless`);
    for (const host of [...hosts, ...hosts.map((h) => `${h}.surge.svc.cluster.local`)]) {
      const said = execFileSync(
        'openssl',
        ['x509', '-in', join(out, 'tls.crt'), '-noout', '-checkhost', host],
        {
          encoding: 'utf8',
        },
      );
      expect(said, host).toContain('does match');
    }
    const refused = (args: string[]) => {
      try {
        execFileSync(script, args, { stdio: 'pipe' });
        return '';
      } catch (err) {
        return String((err as { stderr?: Buffer }).stderr);
      }
    };
    // An earlier CA is never replaced; a SAN without its kind is named.
    expect(refused([out])).toMatch(/ca\.key exists: refusing/);
    expect(refused([join(dir, 'bad'), 'nats-0'])).toMatch(/SAN 'nats-0' must be DNS:<name> or IP:<address>/);
  });

  it('three nodes cluster over mutual TLS; a node without TLS or with a foreign CA stays out', async () => {
    // biome-ignore lint/suspicious/noExplicitAny: Helm values are free-form
    const values: any = parse(readFileSync(join(EXAMPLE, 'helm/nats-values.yaml'), 'utf8'));
    const cluster = values.config.cluster;
    const ours = certs('ours');
    // As the chart renders cluster.tls (secretName → cert_file, key_file; tlsCA → ca_file; then
    // its merge) and the route URLs (tls:// when cluster.tls is enabled, nats:// otherwise).
    const tls = (d: string, ca: string | null) =>
      Object.entries({
        cert_file: join(d, cluster.tls.cert ?? 'tls.crt'),
        key_file: join(d, cluster.tls.key ?? 'tls.key'),
        ...(ca === null ? {} : { ca_file: join(ca, values.tlsCA.key ?? 'ca.crt') }),
        ...cluster.tls.merge,
      })
        .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
        .join('\n');
    const block = (port: number, routes: string[], tlsBlock: string | null) =>
      `cluster {\n  name: nats\n  host: 127.0.0.1\n  port: ${port}\n  no_advertise: true\n` +
      `  routes: [\n${routes.map((r) => `    ${r}`).join('\n')}\n  ]\n` +
      (tlsBlock === null ? '' : `  tls {\n${tlsBlock}\n  }\n`) +
      '}\n';
    const tlsOn = cluster.tls?.enabled === true && cluster.tls.secretName;
    const ca = values.tlsCA?.enabled === true && values.tlsCA.secretName ? ours : null;

    const routePorts = [await uniquePort(), await uniquePort(), await uniquePort()];
    const routes = routePorts.map((p) => `${tlsOn ? 'tls' : 'nats'}://127.0.0.1:${p}`);
    const nodes: PrivateServer[] = [];
    for (const [i, p] of routePorts.entries())
      nodes.push(await node(`route-tls-${i + 1}`, block(p, routes, tlsOn ? tls(ours, ca) : null)));
    await eventually(async () => (await Promise.all(nodes.map(routesOf))).every((n) => n === 2), 20_000);

    await makeR3Stream(
      nodes.map((n) => n.url),
      'routetls',
    );

    // Two intruders dial the first node: one with no TLS at all, one with TLS and a certificate
    // of another CA — it trusts ours (so the only refusal is ours, by `verify`).
    const foreign = certs('foreign');
    const port0 = routePorts[0] as number;
    await node('rogue-plain', block(await uniquePort(), [`nats-route://127.0.0.1:${port0}`], null), false);
    await node(
      'rogue-foreign',
      block(await uniquePort(), [`tls://127.0.0.1:${port0}`], tls(foreign, ours)),
      false,
    );
    // nats-server retries a failed route every second: a few tries, none let in.
    await sleep(3000);
    expect(await Promise.all(started.slice(3).map(routesOf))).toEqual([0, 0]);
    expect(await Promise.all(nodes.map(routesOf))).toEqual([2, 2, 2]);
  });
});
