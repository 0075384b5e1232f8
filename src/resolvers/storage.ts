import { NotFoundError } from '../services/errors.js';
import { builder } from '../schema/builder.js';
import { DeletionRef, StorageObjectNode } from '../schema/storage.js';

builder.mutationFields((t) => ({
  deleteStorageObject: t.withAuth({ loggedIn: true }).field({
    description: 'Hides one of your files at once; the bytes are purged after retention',
    type: DeletionRef,
    errors: { types: [NotFoundError], directResult: true },
    args: { id: t.arg.globalID({ required: true, for: StorageObjectNode, description: 'Global id of the file' }) },
    resolve: async (_root, args, context) => ({
      typename: 'StorageObject',
      ...(await context.services.storage.softDelete(context.viewer.id, args.id.id)),
    }),
  }),
}));
