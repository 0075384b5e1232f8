#!/usr/bin/env node
// Part of postinstall: makes the pristine PostgreSQL cluster that `npm start` and the tests copy for a new embedded
// data directory (see src/db/embedded.ts), so that even the first start skips initdb, and a copy of it holding the
// migrated schema and pg-boss's schema (src/db/template.ts), so that a new database needs no migrations at start. It
// must never fail an install: on any error it prints one line and exits 0, and starts fall back to what exists
// (the pristine template, made by the first start if need be, and migrations applied at start).
try {
  const { tsImport } = await import('tsx/esm/api');
  const { prepareEmbeddedPostgresTemplate } = await tsImport('../src/db/embedded.ts', import.meta.url);
  const { databaseTemplateContents } = await tsImport('../src/db/template.ts', import.meta.url);
  const started = Date.now();
  const dir = await prepareEmbeddedPostgresTemplate(() => {}, { contents: databaseTemplateContents() });
  if (dir) console.log(`embedded PostgreSQL template ready in ${Date.now() - started} ms: ${dir}`);
} catch (error) {
  console.log(`embedded PostgreSQL template not made (starts copy the pristine one, made by the first start if need be, and apply the migrations): ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
}
process.exit(0);
