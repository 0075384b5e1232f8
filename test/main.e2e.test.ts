import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { freePort, root, startMain, waitUntilReady, within, type RunningProcess } from './support/processes.js';

/**
 * A GraphQL POST whose body arrives in two parts: the request is already being handled when the first part is
 * sent, and can only finish after `finish()` sends the rest.
 */
function slowGraphqlRequest(port: number, query: string) {
  const body = Buffer.from(JSON.stringify({ query }));
  const half = Math.floor(body.length / 2);
  const req = request({
    host: '127.0.0.1',
    port,
    path: '/graphql',
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': body.length },
  });
  const connected = new Promise<void>((resolve, reject) => {
    req.once('error', reject);
    req.once('socket', (socket) => socket.once('connect', resolve));
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
  });
  req.write(body.subarray(0, half));
  return { connected, response, finish: () => req.end(body.subarray(half)) };
}

/** Stops an embedded PostgreSQL left behind by a server that had to be killed. */
function stopOrphanedPostgres(dataDir: string) {
  const pidFile = join(dataDir, 'postgres', 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 'SIGQUIT');
  } catch {
    // Already gone.
  }
}

describe('the server process (npm start)', () => {
  let dataDir: string;
  let port: number;
  let main: RunningProcess;

  beforeAll(async () => {
    mkdirSync(join(root, '.data'), { recursive: true });
    dataDir = mkdtempSync(join(root, '.data', 'main-e2e-'));
    // PostgreSQL runs as its own user when the tests run as root, and must be able to enter the directory.
    chmodSync(dataDir, 0o755);
    port = await freePort();
    main = startMain({ PORT: String(port), DATA_DIR: dataDir, DATABASE_URL: '' });
  });

  afterAll(async () => {
    if (main.child.exitCode === null && main.child.signalCode === null) {
      main.child.kill('SIGKILL');
      await main.exited;
      stopOrphanedPostgres(dataDir);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts on the embedded PostgreSQL, becomes ready and answers GraphQL', async () => {
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitUntilReady(baseUrl, main, 60_000);
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
  }, 90_000);

  it('on SIGTERM finishes the requests in flight, then exits 0', async () => {
    const inFlight = Array.from({ length: 5 }, () => slowGraphqlRequest(port, '{ __typename }'));
    await Promise.all(inFlight.map((req) => req.connected));
    // Give the server time to read the headers, so the requests are being handled when the signal arrives.
    await new Promise((resolve) => setTimeout(resolve, 200));
    main.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (const req of inFlight) req.finish();

    const outcomes = await within(
      Promise.all(inFlight.map((req) => req.response.catch((error: Error) => ({ error: error.message })))),
      20_000,
      'the in-flight responses',
    );
    const answered = { status: 200, body: `${JSON.stringify({ data: { __typename: 'Query' } })}\n` };
    expect(outcomes).toEqual(inFlight.map(() => answered));
    expect(await within(main.exited, 20_000, 'exit after SIGTERM')).toBe(0);
  }, 60_000);

  it('logged only JSON lines with a level, ending with "shutdown complete"', () => {
    const lines = main.stdout().split('\n').filter(Boolean);
    const entries = lines.map((line) => {
      try {
        return JSON.parse(line) as { level?: unknown; msg?: unknown };
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });
    for (const entry of entries) expect(typeof entry.level).toBe('number');
    const messages = entries.map((entry) => entry.msg);
    expect(messages).toEqual(expect.arrayContaining(['listening', 'shutdown complete']));
    expect(messages.at(-1)).toBe('shutdown complete');
  });
});

it('exits 1 and names the variable when the configuration is invalid', async () => {
  const main = startMain({ PORT: 'eighty' });
  expect(await within(main.exited, 20_000, 'exit')).toBe(1);
  expect(main.stderr()).toContain('PORT: must be an integer between 0 and 65535');
}, 30_000);
