import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { DateTimeResolver, EmailAddressResolver, JSONObjectResolver } from 'graphql-scalars';
import { builder } from './builder.js';

/** Only http and https: a javascript: or data: URL shown as a link is an injection. */
export function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

function httpUrl(value: unknown): string {
  const text = value instanceof URL ? value.href : value;
  if (typeof text !== 'string' || !isHttpUrl(text)) {
    throw new GraphQLError('URL must be an absolute http or https URL', { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return text;
}

const HttpUrlScalar = new GraphQLScalarType<string, string>({
  name: 'URL',
  description: 'An absolute http or https URL, e.g. https://example.com/pricing',
  serialize: httpUrl,
  parseValue: httpUrl,
  parseLiteral: (ast) => httpUrl(ast.kind === Kind.STRING ? ast.value : null),
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSONObject', JSONObjectResolver);
builder.addScalarType('EmailAddress', EmailAddressResolver);
builder.addScalarType('URL', HttpUrlScalar);
builder.queryType({
  description: 'Reads. Anonymous callers see the public catalog; signed-in users see their own data; fields marked Admin need the ADMIN role.',
});
builder.mutationType({
  description: 'Writes. Each answers a union of its result and the typed errors a client can act on; see the README on errors.',
});
