/**
 * The query Pothos hands a field behind an errors union's `data`: when a client asks for nothing but `__typename`,
 * it is an empty `select`, which Prisma refuses. The rows are then read with their scalars; none of them is sent.
 */
export function withSomethingSelected<Query extends { select?: object }>(query: Query): Query {
  if (!query.select || Object.keys(query.select).length > 0) return query;
  const { select: _nothing, ...rest } = query;
  return rest as Query;
}
