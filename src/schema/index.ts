import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './errors.js';
import './users.js';
import './credits.js';
import './billing.js';
import './storage.js';
import './generations.js';
import './analytics.js';
import '../resolvers/users.js';
import '../resolvers/credits.js';
import '../resolvers/billing.js';
import '../resolvers/generations.js';
import '../resolvers/storage.js';
import '../resolvers/analytics.js';

export const schema = lexicographicSortSchema(builder.toSchema());
