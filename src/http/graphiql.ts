import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';

const require = createRequire(import.meta.url);

// GraphiQL, React and ReactDOM are served from their npm packages so the IDE works without internet access.
const packageFile = (name: string, file: string) => join(dirname(require.resolve(`${name}/package.json`)), file);
const assets: Record<string, { file: () => string; type: string }> = {
  'graphiql.min.js': { file: () => packageFile('graphiql', 'graphiql.min.js'), type: 'text/javascript' },
  'graphiql.min.css': { file: () => packageFile('graphiql', 'graphiql.min.css'), type: 'text/css' },
  'react.production.min.js': { file: () => packageFile('react', 'umd/react.production.min.js'), type: 'text/javascript' },
  'react-dom.production.min.js': {
    file: () => packageFile('react-dom', 'umd/react-dom.production.min.js'),
    type: 'text/javascript',
  },
};

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <title>GraphiQL</title>
  <link rel="stylesheet" href="/graphiql/assets/graphiql.min.css" />
  <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
</head>
<body>
  <div id="graphiql">Loading…</div>
  <script src="/graphiql/assets/react.production.min.js"></script>
  <script src="/graphiql/assets/react-dom.production.min.js"></script>
  <script src="/graphiql/assets/graphiql.min.js"></script>
  <script src="/graphiql/assets/start.js"></script>
</body>
</html>`;

const startScript = `
const fetcher = GraphiQL.createFetcher({ url: '/graphql', headers: { 'apollo-require-preflight': 'true' } });
ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: true, shouldPersistHeaders: true }),
);`;

export function registerGraphiQL(app: FastifyInstance) {
  const cache = new Map<string, Buffer>();
  app.get('/graphiql', async (_request, reply) => reply.type('text/html; charset=utf-8').send(page));
  app.get<{ Params: { name: string } }>('/graphiql/assets/:name', async (request, reply) => {
    if (request.params.name === 'start.js') return reply.type('text/javascript').send(startScript);
    const asset = assets[request.params.name];
    if (!asset) return reply.code(404).send({ error: 'Not found' });
    let body = cache.get(request.params.name);
    if (!body) cache.set(request.params.name, (body = readFileSync(asset.file())));
    return reply.type(asset.type).header('cache-control', 'public, max-age=86400').send(body);
  });
}
