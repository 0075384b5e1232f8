import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './errors.js';
import './users.js';
import './credits.js';
import './billing.js';
import '../resolvers/users.js';
import '../resolvers/credits.js';
import '../resolvers/billing.js';

export const schema = lexicographicSortSchema(builder.toSchema());
