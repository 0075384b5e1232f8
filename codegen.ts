import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * What graphql-codegen generates. `schema.graphql` is printed from the Pothos schema first (scripts/print-schema.ts),
 * so this file only reads SDL and never has to load our TypeScript sources.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: 'test/operations/**/*.graphql',
  generates: {
    'test/generated/graphql.ts': {
      plugins: ['typescript-operations', 'typed-document-node'],
      config: {
        enumType: 'string-literal',
        useTypeImports: true,
        scalars: {
          BigInt: 'number',
          DateTime: 'string',
          EmailAddress: 'string',
          JSON: 'unknown',
          JSONObject: 'Record<string, unknown>',
          NonNegativeInt: 'number',
          PositiveInt: 'number',
          URL: 'string',
        },
      },
    },
  },
};

export default config;
