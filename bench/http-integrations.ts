/**
 * Measures Apollo Server 5's HTTP integrations on this machine with the same one-field schema, so the figures show
 * the cost of the HTTP layer alone. Each server runs in its own process; autocannon runs in this one.
 *
 *   npm run bench:http                              # 10 s and 50 connections per integration
 *   npm run bench:http -- --seconds 5 --connections 100
 */
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import { startStandaloneServer } from '@apollo/server/standalone';
import autocannon from 'autocannon';
import express from 'express';
import Fastify from 'fastify';
import { fork } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

const integrations = {
  fastify: {
    label: 'Fastify 5 + @as-integrations/fastify',
    async listen(apollo: ApolloServer): Promise<number> {
      const app = Fastify();
      app.route({ url: '/graphql', method: ['GET', 'POST', 'OPTIONS'], handler: fastifyApolloHandler(apollo) });
      await app.listen({ host: '127.0.0.1', port: 0 });
      return (app.server.address() as AddressInfo).port;
    },
  },
  express: {
    label: 'Express 5 + @as-integrations/express5',
    async listen(apollo: ApolloServer): Promise<number> {
      const app = express();
      app.use('/graphql', express.json(), expressMiddleware(apollo));
      const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
        const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
      });
      return (server.address() as AddressInfo).port;
    },
  },
  standalone: {
    label: 'startStandaloneServer (node:http)',
    async listen(apollo: ApolloServer): Promise<number> {
      const { url } = await startStandaloneServer(apollo, { listen: { host: '127.0.0.1', port: 0 } });
      return Number(new URL(url).port);
    },
  },
};
type IntegrationName = keyof typeof integrations;

const QUERY = JSON.stringify({ query: '{ hello }' });
const EXPECTED = JSON.stringify({ data: { hello: 'world' } });

/** In the child process: serve the tiny schema with one integration and report the port. */
async function serve(name: IntegrationName) {
  const apollo = new ApolloServer({
    typeDefs: 'type Query { hello: String }',
    resolvers: { Query: { hello: () => 'world' } },
  });
  // startStandaloneServer starts Apollo itself; the other integrations need it started first.
  if (name !== 'standalone') await apollo.start();
  const port = await integrations[name].listen(apollo);
  process.send!({ port });
}

function startServer(name: IntegrationName): Promise<{ url: string; stop: () => void }> {
  const child = fork(new URL(import.meta.url).pathname, ['--serve', name], { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the ${name} server exited with code ${code}`)));
    child.once('message', (message: { port: number }) =>
      resolve({ url: `http://127.0.0.1:${message.port}/graphql`, stop: () => child.kill() }),
    );
  });
}

async function assertAnswers(url: string) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: QUERY });
  const body = (await response.text()).trim();
  if (response.status !== 200 || body !== EXPECTED) throw new Error(`${url} answered ${response.status} ${body}`);
}

function load(url: string, seconds: number, connections: number) {
  return autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: QUERY,
    duration: seconds,
    connections,
  });
}

async function main() {
  const { values } = parseArgs({
    options: {
      serve: { type: 'string' },
      seconds: { type: 'string', default: '10' },
      connections: { type: 'string', default: '50' },
    },
  });
  if (values.serve) return serve(values.serve as IntegrationName);

  const seconds = Number(values.seconds);
  const connections = Number(values.connections);
  const rows: Record<string, string | number>[] = [];
  for (const name of Object.keys(integrations) as IntegrationName[]) {
    const server = await startServer(name);
    try {
      await assertAnswers(server.url);
      await load(server.url, Math.min(3, seconds), connections); // warm-up: JIT and connection setup
      const result = await load(server.url, seconds, connections);
      rows.push({
        integration: integrations[name].label,
        'requests/s': Math.round(result.requests.average),
        'p50 ms': result.latency.p50,
        'p99 ms': result.latency.p99,
        'errors + non-2xx': result.errors + result.timeouts + result.non2xx,
      });
    } finally {
      server.stop();
    }
  }
  console.log(`POST { hello }, ${connections} connections, ${seconds} s each, Node ${process.version}`);
  console.table(rows);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
