// Dependencies' install scripts are reviewed: package.json's `allowScripts` names every package of
// the lockfile that has one (npm 11 warns about an unlisted one at every install, npm 12 skips
// its script), and nothing else (README.md#scripts). By name: npm pins an approval to a version
// only for a lockfile entry with a `resolved` URL, which this lockfile does not record.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const json = (file: string) => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8'));

/** The names of the lockfile's packages that run an install script. */
function withInstallScripts(): string[] {
  const packages = json('package-lock.json').packages as Record<
    string,
    { name?: string; hasInstallScript?: boolean }
  >;
  const names = Object.entries(packages)
    .filter(([, p]) => p.hasInstallScript)
    .map(([where, p]) => p.name ?? where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length));
  return [...new Set(names)].sort();
}

describe('install scripts', () => {
  it('every dependency with an install script is reviewed in allowScripts, and only those', () => {
    const scripted = withInstallScripts();
    expect(scripted.length).toBeGreaterThan(0);
    const reviewed = Object.entries(json('package.json').allowScripts ?? {});
    expect(reviewed.every(([, allowed]) => allowed === true)).toBe(true);
    expect(reviewed.map(([name]) => name).sort()).toEqual(scripted);
  });
});
