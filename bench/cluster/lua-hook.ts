/**
 * `.lua` files imported as text (what esbuild's `text` loader does for the bundles and
 * vitest.config.ts's plugin for the tests), so tsx can load packages/hot-state's scripts
 * from source. Modules importing them must be imported dynamically after this runs.
 */
import { readFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

registerHooks({
  load(url, context, nextLoad) {
    if (!url.endsWith('.lua')) return nextLoad(url, context);
    const text = readFileSync(fileURLToPath(url), 'utf8');
    return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
  },
});
