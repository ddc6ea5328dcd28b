// The runtime images carry production dependencies only (README.md#security, issue 10 L8): the
// Dockerfiles prune devDependencies before the runtime stage copies the build, and everything
// the images run — the two apps, the migration runner, the seed — needs nothing beyond the
// workspaces' `dependencies`. There is no Docker engine in CI: these are static checks, the
// second one with esbuild's own resolution of each entry point.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WORKSPACES = ['apps/server', 'apps/worker', 'apps/web', 'packages/contracts', 'packages/db'].concat([
  'packages/hot-state',
  'packages/infra',
]);

type Pkg = { name: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
const pkg = (dir: string): Pkg => JSON.parse(readFileSync(path.join(ROOT, dir, 'package.json'), 'utf8'));

/** What `npm prune --omit=dev` keeps at the top: every workspace's `dependencies` (and their own). */
const productionDeps = new Set(WORKSPACES.flatMap((w) => Object.keys(pkg(w).dependencies ?? {})));

/** The runtime stage of a Dockerfile and what comes before it. */
function stages(file: string): { build: string; runtime: string } {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const at = text.lastIndexOf('\nFROM ');
  return { build: text.slice(0, at), runtime: text.slice(at) };
}

/** Third-party packages an entry point imports, as esbuild resolves it with the apps' bundling. */
async function externalPackages(entry: string): Promise<string[]> {
  const found = new Set<string>();
  const plugin: Plugin = {
    name: 'collect-external',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (r) => {
        if (r.path.startsWith('@surge/')) return undefined;
        found.add(r.path);
        return { path: r.path, external: true };
      });
    },
  };
  await build({
    entryPoints: [path.join(ROOT, entry)],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    loader: { '.lua': 'text' },
    logLevel: 'silent',
    plugins: [plugin],
  });
  const builtins = new Set(builtinModules);
  return [...found]
    .filter((p) => !p.startsWith('node:') && !builtins.has(p))
    .map((p) => (p.startsWith('@') ? p.split('/').slice(0, 2).join('/') : (p.split('/')[0] ?? p)));
}

describe('runtime images (issue 10 L8)', () => {
  it.each(['apps/server/Dockerfile', 'apps/worker/Dockerfile'])(
    '%s prunes devDependencies after building, before the runtime stage copies it',
    (file) => {
      const { build: buildStage, runtime } = stages(file);
      const prune = buildStage.lastIndexOf('RUN npm prune --omit=dev');
      expect(prune, 'npm prune --omit=dev in the build stage').toBeGreaterThan(0);
      // Nothing after the prune installs or builds again (which would need the devDependencies).
      expect(buildStage.slice(prune + 1)).not.toMatch(/\bRUN\b/);
      expect(buildStage.slice(0, prune)).toMatch(/npx turbo run build/);
      expect(runtime).toMatch(/^COPY --from=build \/app \/app$/m);
      expect(runtime).not.toMatch(/\bnpm (ci|install|i)\b|\btsx\b|\bnpx\b/);
    },
  );

  it('the images run only plain node: compose, the Kubernetes migrate Job, the Dockerfiles', () => {
    const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
    const commands = Object.values(compose.services as Record<string, { build?: unknown; command?: unknown }>)
      .filter((s) => s.build)
      .map((s) => JSON.stringify(s.command ?? ''));
    commands.push(readFileSync(path.join(ROOT, 'deploy/k8s/base/migrate-job.yaml'), 'utf8'));
    for (const c of commands) expect(c).not.toMatch(/\btsx\b|\bnpx\b|\.ts\b/);
    expect(stages('apps/server/Dockerfile').build).toMatch(
      /bundle\.mjs src\/cli\/migrate\.ts dist\/migrate\.js/,
    );
    expect(stages('apps/server/Dockerfile').build).toMatch(/bundle\.mjs seed\.ts dist\/seed\.js/);
  });

  it.each([
    ['the server', 'apps/server/src/main.ts'],
    ['the worker', 'apps/worker/src/main.ts'],
    ['the migration runner', 'packages/db/src/cli/migrate.ts'],
    ['the seed', 'prisma/seed.ts'],
  ])('%s (%s) imports only production dependencies', async (_name, entry) => {
    const external = await externalPackages(entry);
    expect(external.length).toBeGreaterThan(0);
    expect(external.filter((p) => !productionDeps.has(p))).toEqual([]);
  });

  it('keeps every git-ignored build, log and local-state folder out of the build context', () => {
    const ignore = new Set(
      readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.replace(/^\*\*\//, '').replace(/\/$/, '')),
    );
    const gitignored = readFileSync(path.join(ROOT, '.gitignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim().replace(/\/$/, ''))
      .filter((l) => l && !l.startsWith('#'));
    // `**/dist` covers bench/dist.
    expect(gitignored.filter((g) => !ignore.has(g) && !ignore.has(path.basename(g)))).toEqual([]);
  });
});
