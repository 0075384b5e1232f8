import { NotFoundError } from '../services/errors.js';
import { builder } from '../schema/builder.js';
import { DeletionRef, StorageObjectNode } from '../schema/storage.js';

builder.mutationFields((t) => ({
  deleteStorageObject: t.withAuth({ loggedIn: true }).field({
    type: DeletionRef,
    errors: { types: [NotFoundError], directResult: true },
    args: { id: t.arg.globalID({ required: true, for: StorageObjectNode }) },
    resolve: async (_root, args, context) => ({
      typename: 'StorageObject',
      ...(await context.services.storage.softDelete(context.viewer.id, args.id.id)),
    }),
  }),
}));
