// Prisma's schema engine (the Rust code behind `prisma migrate`) compiled to WebAssembly. The Prisma
// CLI's migrate commands download a native engine, which cannot work offline; this one ships inside
// the installed `prisma` package as build/schema_engine_bg.wasm — the exact engine prisma 7.10.1
// names (git d1b3f377). Its wasm-bindgen JS glue comes from @prisma/schema-engine-wasm, pinned to a
// build whose glue satisfies every import of that .wasm (checked below, before instantiating): the
// version prisma names is not published on npm.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as glue from '@prisma/schema-engine-wasm/schema_engine_bg';

export type {
  MigrationList,
  SchemaEngine,
  SchemaFilter,
  SchemasContainer,
} from '@prisma/schema-engine-wasm/schema_engine_bg';

/** The module name wasm-bindgen's bundler target gives the glue in the .wasm's import section. */
const GLUE_MODULE = './schema_engine_bg.js';

let engineClass: typeof glue.SchemaEngine | undefined;

/** Where the engine is read from: the one `prisma` itself ships. */
export function schemaEngineWasmPath(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('prisma/package.json')), 'build', 'schema_engine_bg.wasm');
}

/**
 * Instantiates the engine once per process and returns its `SchemaEngine` class. Node 22 cannot
 * `import` a .wasm module without a flag (what the package's own entry does), so this does by hand
 * what a bundler would: instantiate with the glue as the import object, hand the exports to the
 * glue, run start.
 */
export function loadSchemaEngine(): typeof glue.SchemaEngine {
  if (engineClass) return engineClass;
  const wasmPath = schemaEngineWasmPath();
  const module = new WebAssembly.Module(readFileSync(wasmPath));
  // A mismatched glue would fail later in obscure ways; name the problem up front instead.
  const missing = WebAssembly.Module.imports(module).filter(
    (i) => i.module !== GLUE_MODULE || !(i.name in glue),
  );
  if (missing.length > 0) {
    const names = missing.map((i) => `${i.module}:${i.name}`).join(', ');
    throw new Error(
      `${wasmPath} does not match the pinned @prisma/schema-engine-wasm glue (missing ${names})`,
    );
  }
  const instance = new WebAssembly.Instance(module, { [GLUE_MODULE]: glueImports() });
  glue.__wbg_set_wasm(instance.exports);
  const start = instance.exports.__wbindgen_start;
  if (typeof start === 'function') start();
  engineClass = glue.SchemaEngine;
  return engineClass;
}

/**
 * The glue as the .wasm's import object, except for timers: the engine races operations against
 * 10 s `setTimeout`s it never clears (there is no clearTimeout import), which would hold the
 * process open for 10 s after every command. They are unref'd: while an operation runs, its open
 * pg connections keep the process alive anyway.
 */
function glueImports(): WebAssembly.ModuleImports {
  const imports: WebAssembly.ModuleImports = {};
  for (const [name, value] of Object.entries(glue)) {
    if (typeof value === 'function') imports[name] = value;
  }
  for (const name of Object.keys(imports).filter((n) => n.startsWith('__wbg_setTimeout_'))) {
    imports[name] = (callback: () => void, ms: number) => setTimeout(callback, ms >>> 0).unref();
  }
  return imports;
}

/** The engine's git hash, e.g. for `migrate.ts --version` style diagnostics. */
export function schemaEngineVersion(): string {
  loadSchemaEngine();
  return glue.version();
}
