import { codegen } from '@graphql-codegen/core';
import type { CodegenPlugin, Types } from '@graphql-codegen/plugin-helpers';
import { buildASTSchema, parse } from 'graphql';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, matchesGlob } from 'node:path';
import { fileURLToPath } from 'node:url';
import config from '../codegen.js';

/*
 * Runs the outputs of codegen.ts with graphql-codegen's own engine (@graphql-codegen/core). The graphql-codegen CLI
 * cannot start in this project: it statically imports @graphql-tools/url-loader, whose current releases need
 * @graphql-tools/utils 12, and package.json's overrides pin utils to 11 (12 pulls in @whatwg-node/promise-helpers 2,
 * which wants Node 22). Only what codegen.ts uses is supported here: one SDL schema file, one documents glob, and
 * plugins by name.
 */

const root = fileURLToPath(new URL('..', import.meta.url));

function single(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`codegen.ts: ${what} must be a single path or glob`);
  return value;
}

function filesMatching(glob: string): string[] {
  const base = glob.slice(0, glob.search(/[*?[{]/)).replace(/[^/]*$/, '') || '.';
  return readdirSync(join(root, base), { recursive: true, encoding: 'utf8' })
    .map((file) => join(base, file))
    .filter((file) => matchesGlob(file, glob))
    .sort();
}

async function loadPlugin(name: string): Promise<CodegenPlugin> {
  return import(`@graphql-codegen/${name}`);
}

async function main() {
  const schemaSource = readFileSync(join(root, single(config.schema, 'schema')), 'utf8');
  const schema = parse(schemaSource);
  const documents: Types.DocumentFile[] = filesMatching(single(config.documents, 'documents')).map((location) => ({
    location,
    document: parse(readFileSync(join(root, location), 'utf8')),
  }));

  for (const [filename, output] of Object.entries(config.generates)) {
    const { plugins, config: pluginConfig = {} } = output as Types.ConfiguredOutput;
    const names = (plugins ?? []).map((plugin) => single(plugin, 'each plugin'));
    const pluginMap = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await loadPlugin(name)])));
    const content = await codegen({
      filename,
      schema,
      schemaAst: buildASTSchema(schema),
      documents,
      config: pluginConfig,
      plugins: names.map((name) => ({ [name]: {} })),
      pluginMap,
    });
    mkdirSync(dirname(join(root, filename)), { recursive: true });
    writeFileSync(join(root, filename), content.endsWith('\n') ? content : `${content}\n`);
    console.log(`Wrote ${filename} from ${documents.length} document(s)`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
