import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const tsx = join(root, 'node_modules/.bin/tsx');

export interface RunningProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** The environment a user's shell gives: not jest's NODE_ENV=test, under which some libraries ignore signals. */
export function userEnvironment(env: Record<string, string>): NodeJS.ProcessEnv {
  const { NODE_ENV: _testEnv, ...inherited } = process.env;
  return { ...inherited, ...env };
}

/**
 * Starts the server the way `npm start` does. With `ownGroup`, it leads its own process group, as a job started
 * from a terminal does, so `process.kill(-pid, signal)` is what Ctrl-C sends.
 */
export function startMain(
  env: Record<string, string>,
  options: { ownGroup?: boolean; nodeOptions?: string[] } = {},
): RunningProcess {
  // What `npm start` runs (scripts/start.mjs: src/ built by esbuild, or through tsx without it), in this one process,
  // so a signal or a SIGKILL reaches the server itself.
  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), 'scripts/start.mjs'], {
    cwd: root,
    env: userEnvironment({ JOBS_ENABLED: 'false', LOG_LEVEL: 'info', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.ownGroup ?? false,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command-line script to its end; resolves with its exit code whatever it is. */
// Generous: a loaded 2-core machine can take seconds just to start tsx; the tests' own timeouts stay the limit.
export function runScript(script: string, args: string[], env: Record<string, string>, timeoutMs = 80_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(tsx, [script, ...args], { cwd: root, env: userEnvironment(env), timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      if (error?.killed) stderr += `\n[killed after ${timeoutMs} ms by the test]`;
      resolve({ code, stdout, stderr });
    });
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
      .once('error', reject)
      .listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
  });
}

export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function waitUntilReady(baseUrl: string, main: RunningProcess, ms: number) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (main.child.exitCode !== null) throw new Error(`the server exited early:\n${main.stderr()}\n${main.stdout()}`);
    const status = await fetch(`${baseUrl}/readyz`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`/readyz did not answer 200 within ${ms / 1000} s:\n${main.stderr()}\n${main.stdout()}`);
}

/** The pid PostgreSQL recorded in its data directory, if it is still running. */
export function runningPostmaster(databaseDir: string): number | null {
  const pidFile = join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/** Stops an embedded PostgreSQL left behind by a server that had to be killed. */
export async function stopOrphanedPostgres(databaseDir: string) {
  const pid = runningPostmaster(databaseDir);
  if (!pid) return;
  process.kill(pid, 'SIGQUIT');
  for (let i = 0; i < 100 && runningPostmaster(databaseDir); i++) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Parses JSON log lines; throws on any line that is not one. */
export function logEntries(stdout: string): Array<{ level: number; msg?: string } & Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line);
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });
}
