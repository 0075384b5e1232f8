import pg from 'pg';

export default async function globalTeardown() {
  const serverUrl = process.env.TEST_SERVER_URL;
  const template = process.env.TEST_TEMPLATE_DATABASE;
  if (serverUrl && template && !globalThis.__EMBEDDED_PG__) {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    const prefix = template.replace('test_template_', 'test_');
    const { rows } = await admin.query(
      `SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname = $2`,
      [`${prefix.replace(/_/g, '\\_')}\\_%`, template],
    );
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    await admin.end();
  }
  await globalThis.__EMBEDDED_PG__?.stop();
}
