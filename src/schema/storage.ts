import { encodeGlobalID } from '@pothos/plugin-relay';
import { StorageProvider } from '../generated/prisma/enums.js';
import { builder } from './builder.js';
import { connectionTypes } from './connections.js';
import { isOwnerOrAdmin, ownerOnly, viewerIdOrNone } from './visibility.js';

export const StorageProviderEnum = builder.enumType(StorageProvider, {
  name: 'StorageProvider',
  description: 'Where file bytes are kept',
  values: {
    LOCAL: { description: 'The server local disk' },
    S3: { description: 'An S3-compatible bucket' },
  },
});

export const StorageObjectNode = builder.prismaNode('StorageObject', {
  description: 'A file you own: an image a generation produced or one you uploaded. Visible only to its owner.',
  id: { field: 'id' },
  nullable: true,
  // Another user's or a deleted file reads as missing through node(id), not as forbidden: existence is not revealed.
  findUnique: (id, context) => ({ id, userId: viewerIdOrNone(context), deletedAt: null }),
  authScopes: (object, context) => isOwnerOrAdmin(object.userId, context),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'File name, e.g. image-1.png' }),
    contentType: t.exposeString('contentType', { description: 'MIME type, e.g. image/png' }),
    sizeBytes: t.exposeInt('sizeBytes', { description: 'Size in bytes' }),
    checksum: t.exposeString('checksum', { description: 'SHA-256 of the bytes, hex' }),
    provider: t.expose('provider', { description: 'Where the bytes are kept', type: StorageProviderEnum }),
    url: t.string({
      description: 'A signed download URL, valid for STORAGE_SIGNED_URL_TTL_SECONDS without any other credential',
      resolve: (object, _args, context) => context.services.storage.signedUrl(object),
    }),
    createdAt: t.expose('createdAt', { description: 'When the file was stored', type: 'DateTime' }),
  }),
});

export interface DeletionResult {
  typename: string;
  id: string;
  deletedAt: Date;
}

export const DeletionRef = builder.objectRef<DeletionResult>('Deletion').implement({
  description: 'What a delete mutation hid: it no longer appears anywhere, and its files are purged after retention.',
  fields: (t) => ({
    id: t.id({ description: 'Global id of what was deleted', resolve: (deletion) => encodeGlobalID(deletion.typename, deletion.id) }),
    deletedAt: t.expose('deletedAt', { description: 'When it was deleted', type: 'DateTime' }),
  }),
});

builder.prismaObjectFields('User', (t) => ({
  storageObjects: t.relatedConnection('storageObjects', {
    cursor: 'createdAt_id',
    maxSize: 100,
    defaultSize: 20,
    totalCount: true,
    authScopes: ownerOnly,
    description: 'Your files, newest first',
    query: () => ({ where: { deletedAt: null }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
  }, ...connectionTypes('StorageObject', 'stored files')),
  storageUsedBytes: t.loadable({
    type: 'Float',
    description: 'Bytes your files take, deleted files excluded; a Float because a total can pass the 2^31 limit of Int',
    authScopes: ownerOnly,
    load: async (userIds: string[], context) => {
      const used = await context.services.storage.usedBytes(userIds);
      return userIds.map((id) => used.get(id) ?? 0);
    },
    resolve: (user) => user.id,
  }),
}));
