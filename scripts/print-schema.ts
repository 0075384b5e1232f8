import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSchema } from 'graphql';
import { schema } from '../src/schema/index.js';

const schemaFile = fileURLToPath(new URL('../schema.graphql', import.meta.url));

writeFileSync(schemaFile, `${printSchema(schema)}\n`);
console.log("Wrote schema.graphql");
