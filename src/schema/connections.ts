import type { GenericFieldRef } from '@pothos/core';

type TotalCountParent = { totalCount?: number | (() => number | Promise<number>) };
// Any connection's field builder (withAuth narrows the context type, which a concrete builder type would not accept).
interface IntFieldBuilder {
  int(options: {
    description: string;
    nullable: false;
    extensions: Record<string, unknown>;
    resolve: (parent: TotalCountParent) => number | Promise<number>;
  }): GenericFieldRef<number>;
}

/**
 * Names and describes a connection and its edge after the node they page through (`UserConnection`, `UserEdge`),
 * with a described totalCount. Every connection pages 20 by default and at most 100.
 */
export function connectionTypes(node: string, items: string, options: { totalCount?: boolean } = {}) {
  return [
    {
      name: `${node}Connection`,
      description: `A page of ${items}. Page with first/after (or last/before): at most 100 per page, 20 by default.`,
      ...(options.totalCount === false
        ? {}
        : {
            fields: (t: IntFieldBuilder) => ({
              totalCount: t.int({
                description: `How many ${items} match, across all pages`,
                nullable: false,
                extensions: { pothosPrismaTotalCount: true },
                resolve: (parent) => (typeof parent.totalCount === 'function' ? parent.totalCount() : parent.totalCount ?? 0),
              }),
            }),
          }),
    },
    { name: `${node}Edge`, description: `One of ${items} in a page, with the cursor to page on from it` },
  ] as const;
}
