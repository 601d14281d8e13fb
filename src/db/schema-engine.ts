import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { bindMigrationAwareSqlAdapterFactory, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';

// The Wasm schema engine ships for bundlers; on Node it has to be wired up by
// hand. It is loaded lazily: only migrations need it.
// @types/node 20 does not declare the WebAssembly global; this is all we use of it.
const wasm = (globalThis as unknown as {
  WebAssembly: { instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }> };
}).WebAssembly;

let engineClass: Promise<typeof SchemaEngine> | null = null;

async function loadSchemaEngine(): Promise<typeof SchemaEngine> {
  const bg = await import('@prisma/schema-engine-wasm/schema_engine_bg');
  const require = createRequire(import.meta.url);
  // The .wasm file is not in the package's export map; find it beside the glue.
  const wasmPath = join(dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg')), 'schema_engine_bg.wasm');
  const { instance } = await wasm.instantiate(await readFile(wasmPath), { './schema_engine_bg.js': bg });
  const glue = bg as unknown as { __wbg_set_wasm(exports: unknown): void; SchemaEngine: typeof SchemaEngine };
  glue.__wbg_set_wasm(instance.exports);
  (instance.exports as { __wbindgen_start?: () => void }).__wbindgen_start?.();
  return glue.SchemaEngine;
}

export async function withSchemaEngine<T>(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  schema: { path: string; content: string },
  run: (engine: SchemaEngine) => Promise<T>,
  log: (message: string) => void = () => {},
): Promise<T> {
  engineClass ??= loadSchemaEngine();
  const Engine = await engineClass;
  const engine = await Engine.new(
    { datamodels: [[schema.path, schema.content]] },
    (line: string) => log(line),
    bindMigrationAwareSqlAdapterFactory(adapterFactory),
  );
  try {
    return await run(engine);
  } finally {
    engine.free();
  }
}
