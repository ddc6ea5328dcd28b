// Bundles one app (server or worker) into a single ESM file with esbuild: our own workspace
// packages are compiled in, third-party packages stay in node_modules (external). Run from
// the app's folder: `node ../../scripts/bundle.mjs src/main.ts dist/main.js`.
// With `--watch` it keeps rebuilding on changes (`npm run dev`).
import { build, context } from 'esbuild';

const args = process.argv.slice(2);
const watch = args.includes('--watch');
const [entry, outfile] = args.filter((a) => a !== '--watch');
const options = {
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  sourcemap: true,
  loader: { '.lua': 'text' },
  logLevel: 'warning',
  plugins: [
    {
      name: 'externalize-deps',
      setup(b) {
        // Bare imports that are not @surge/* stay external; relative and workspace imports are bundled.
        b.onResolve({ filter: /^[^./]/ }, (r) => {
          if (r.path.startsWith('@surge/')) return undefined;
          return { path: r.path, external: true };
        });
      },
    },
  ],
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
};
if (watch) {
  const ctx = await context(options);
  await ctx.watch();
} else {
  await build(options);
}
