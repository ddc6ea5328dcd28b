// Bundles one app (server or worker) into a single ESM file with esbuild: our own workspace
// packages are compiled in, third-party packages stay in node_modules (external). Run from
// the app's folder: `node ../../scripts/bundle.mjs src/main.ts dist/main.js`.
import { build } from 'esbuild';

const [entry, outfile] = process.argv.slice(2);
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  loader: { '.lua': 'text' },
  logLevel: 'warning',
  plugins: [
    {
      name: 'externalize-deps',
      setup(b) {
        // Bare imports that are not @surge/* stay external; relative and workspace imports are bundled.
        b.onResolve({ filter: /^[^./]/ }, (args) => {
          if (args.path.startsWith('@surge/')) return undefined;
          return { path: args.path, external: true };
        });
      },
    },
  ],
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
});
