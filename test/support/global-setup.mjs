// Jest loads global setup outside its module system, so the TypeScript sources are imported through tsx.
import pg from 'pg';
import { tsImport } from 'tsx/esm/api';

/**
 * One PostgreSQL server for the run: DATABASE_URL when given, otherwise a throwaway embedded one. Migrations are
 * applied once to a template database; every test file clones it (CREATE DATABASE ... TEMPLATE) in milliseconds.
 */
export default async function globalSetup() {
  const { startEmbeddedPostgres } = await tsImport('../../src/db/embedded.ts', import.meta.url);
  const { applyMigrations } = await tsImport('../../src/db/migrations.ts', import.meta.url);
  let serverUrl = process.env.DATABASE_URL?.trim();
  if (!serverUrl) {
    const embedded = await startEmbeddedPostgres({ dir: `.data/test-postgres-${process.pid}`, persistent: false });
    globalThis.__EMBEDDED_PG__ = embedded;
    serverUrl = embedded.url;
  }
  const template = `test_template_${process.pid}`;
  try {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${template}`);
    await admin.query(`CREATE DATABASE ${template}`);
    await admin.end();
    const templateUrl = new URL(serverUrl);
    templateUrl.pathname = `/${template}`;
    await applyMigrations(templateUrl.toString());
  } catch (error) {
    // Jest runs no teardown after a failed setup: the embedded server would outlive the run.
    await globalThis.__EMBEDDED_PG__?.stop();
    if (error?.code === 'ENETUNREACH') {
      throw new Error(`${error.message}: the loopback interface is down (a new network namespace starts with it down: run \`ip link set lo up\` in it first)`);
    }
    throw error;
  }
  process.env.TEST_SERVER_URL = serverUrl;
  process.env.TEST_TEMPLATE_DATABASE = template;
}
