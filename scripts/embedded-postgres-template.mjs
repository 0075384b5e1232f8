#!/usr/bin/env node
// Part of postinstall: makes the pristine PostgreSQL cluster that `npm start` and the tests copy for a new embedded
// data directory (see src/db/embedded.ts), so that even the first start skips initdb. It must never fail an install:
// on any error it prints one line and exits 0, and the first start makes the template instead.
try {
  const { tsImport } = await import('tsx/esm/api');
  const { prepareEmbeddedPostgresTemplate } = await tsImport('../src/db/embedded.ts', import.meta.url);
  const started = Date.now();
  const dir = await prepareEmbeddedPostgresTemplate();
  if (dir) console.log(`embedded PostgreSQL template ready in ${Date.now() - started} ms: ${dir}`);
} catch (error) {
  console.log(`embedded PostgreSQL template not made (the first start makes it): ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
}
process.exit(0);
