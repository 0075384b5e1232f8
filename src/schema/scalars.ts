import {
  BigIntResolver,
  DateTimeResolver,
  EmailAddressResolver,
  JSONObjectResolver,
  JSONResolver,
  NonNegativeIntResolver,
  PositiveIntResolver,
  URLResolver,
} from 'graphql-scalars';
import { builder } from './builder.js';

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);
builder.addScalarType('JSONObject', JSONObjectResolver);
builder.addScalarType('EmailAddress', EmailAddressResolver);
builder.addScalarType('URL', URLResolver);
builder.addScalarType('NonNegativeInt', NonNegativeIntResolver);
builder.addScalarType('PositiveInt', PositiveIntResolver);
builder.addScalarType('BigInt', BigIntResolver);

builder.queryType({
  description: 'Reads. Anonymous callers see the public catalog; signed-in users see their own data; fields marked Admin need the ADMIN role.',
});
builder.mutationType({
  description: 'Writes. Each answers a union of its result and the typed errors a client can act on; see the README on errors.',
});
