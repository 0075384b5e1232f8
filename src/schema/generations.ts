import type { Context } from '../context.js';
import { GenerationQuality, GenerationStatus, GenerationType } from '../generated/prisma/enums.js';
import { builder } from './builder.js';
import { connectionTypes } from './connections.js';
import { StorageObjectNode } from './storage.js';
import { isOwnerOrAdmin, ownerOrAdmin, viewerIdOrNone } from './visibility.js';

export const GenerationTypeEnum = builder.enumType(GenerationType, {
  name: 'GenerationType',
  description: 'What kind of image work a generation does',
  values: {
    TEXT_TO_IMAGE: { description: 'New images from a prompt' },
    IMAGE_TO_IMAGE: { description: 'New images from a prompt and a source image' },
    UPSCALE: { description: 'A larger version of a source image' },
    VARIATION: { description: 'Variations of a source image' },
  },
});
export const GenerationQualityEnum = builder.enumType(GenerationQuality, {
  name: 'GenerationQuality',
  description: 'Render quality; each has a credit multiplier (imageGenerationOptions.qualities)',
  values: {
    STANDARD: { description: 'The default quality, multiplier 1' },
    HD: { description: 'Higher quality at a higher multiplier' },
  },
});
export const GenerationStatusEnum = builder.enumType(GenerationStatus, {
  name: 'GenerationStatus',
  description: 'Where a generation stands; poll until COMPLETED or FAILED',
  values: {
    PENDING: { description: 'Queued; the credits are held' },
    PROCESSING: { description: 'Being rendered' },
    COMPLETED: { description: 'Done; outputs holds the images and the credits are spent' },
    FAILED: { description: 'Failed; errorMessage says why and the credits were refunded' },
  },
});

export const GenerationImageRef = builder.prismaNode('GenerationImage', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, context) => ({ id, generation: { userId: viewerIdOrNone(context), deletedAt: null }, storageObject: { deletedAt: null } }),
  description: 'One output image of a generation',
  fields: (t) => ({
    position: t.exposeInt('position', { description: 'Order within the generation, from 0' }),
    width: t.exposeInt('width', { description: 'Width in pixels' }),
    height: t.exposeInt('height', { description: 'Height in pixels' }),
    url: t.string({
      description: 'A signed download URL, valid for STORAGE_SIGNED_URL_TTL_SECONDS',
      select: { storageObject: { select: { id: true, name: true } } },
      resolve: (image, _args, context) => context.services.storage.signedUrl(image.storageObject),
    }),
    sizeBytes: t.int({
      description: 'Size in bytes',
      select: { storageObject: { select: { sizeBytes: true } } },
      resolve: (image) => image.storageObject.sizeBytes,
    }),
    contentType: t.string({
      description: 'MIME type, e.g. image/png',
      select: { storageObject: { select: { contentType: true } } },
      resolve: (image) => image.storageObject.contentType,
    }),
    file: t.relation('storageObject', { description: 'The stored file behind this image', type: StorageObjectNode }),
  }),
});

export const ImageGenerationNode = builder.prismaNode('ImageGeneration', {
  description: 'A request to generate images and its outcome. Visible only to its owner (and to admins through User.imageGenerations).',
  id: { field: 'id' },
  nullable: true,
  // Another user's or a deleted generation reads as missing, through node(id) as much as imageGeneration(id).
  findUnique: (id, context) => ({ id, userId: viewerIdOrNone(context), deletedAt: null }),
  authScopes: (generation, context) => isOwnerOrAdmin(generation.userId, context),
  // Checked once per generation as it is returned, instead of before each of its fields resolves.
  runScopesOnType: true,
  fields: (t) => ({
    type: t.expose('type', { description: 'What kind of work it does', type: GenerationTypeEnum }),
    status: t.expose('status', { description: 'Where it stands; poll until COMPLETED or FAILED', type: GenerationStatusEnum }),
    prompt: t.exposeString('prompt', { description: 'The prompt as sent' }),
    negativePrompt: t.exposeString('negativePrompt', { description: 'What to avoid; null if none', nullable: true }),
    style: t.exposeString('style', { description: 'The style asked for; null for none', nullable: true }),
    aspectRatio: t.exposeString('aspectRatio', { description: 'Aspect ratio, e.g. 1:1' }),
    quality: t.expose('quality', { description: 'Render quality', type: GenerationQualityEnum }),
    model: t.exposeString('model', { description: 'The model used' }),
    count: t.exposeInt('count', { description: 'Images requested' }),
    credits: t.exposeInt('credits', { description: 'Credits charged; refunded in full if the generation fails' }),
    processingTimeMs: t.exposeInt('processingTimeMs', { description: 'Render time in milliseconds; null until finished', nullable: true }),
    errorMessage: t.exposeString('errorMessage', { description: 'Why it failed; null unless FAILED', nullable: true }),
    metadata: t.field({ description: 'Provider details, e.g. seed', type: 'JSONObject', resolve: (generation) => (generation.metadata ?? {}) as Record<string, unknown> }),
    outputs: t.relation('images', {
      description: 'The images produced, in position order; empty until COMPLETED',
      query: { where: { storageObject: { deletedAt: null } }, orderBy: { position: 'asc' } },
    }),
    sourceImage: t.field({
      type: StorageObjectNode,
      nullable: true,
      description: 'The input image of an image-to-image, upscale or variation request',
      select: { sourceObject: true },
      resolve: (generation) => (generation.sourceObject && !generation.sourceObject.deletedAt ? generation.sourceObject : null),
    }),
    startedAt: t.expose('startedAt', { description: 'When rendering started; null while PENDING', type: 'DateTime', nullable: true }),
    completedAt: t.expose('completedAt', { description: 'When it completed; null otherwise', type: 'DateTime', nullable: true }),
    failedAt: t.expose('failedAt', { description: 'When it failed; null otherwise', type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { description: 'When it was requested', type: 'DateTime' }),
  }),
});

export interface GenerationOptions {
  models: string[];
  styles: string[];
  aspectRatios: string[];
  maxCount: number;
  qualityMultipliers: Record<string, number>;
}

const QualityMultiplierRef = builder
  .objectRef<{ quality: GenerationQuality; multiplier: number }>('QualityMultiplier')
  .implement({
    description: 'What a quality costs relative to STANDARD',
    fields: (t) => ({
      quality: t.expose('quality', { description: 'The quality', type: GenerationQualityEnum }),
      multiplier: t.exposeInt('multiplier', { description: 'Credits per image at this quality = creditsPerImage x multiplier' }),
    }),
  });

export const GenerationOptionsRef = builder.objectRef<GenerationOptions>('ImageGenerationOptions').implement({
  description: 'What createImageGeneration accepts on this server, and what it costs',
  fields: (t) => ({
    models: t.exposeStringList('models', { description: 'The first is the default' }),
    styles: t.exposeStringList('styles', { description: 'Accepted style names' }),
    aspectRatios: t.exposeStringList('aspectRatios', { description: 'The first is the default' }),
    maxCount: t.exposeInt('maxCount', { description: 'Most images one request may ask for' }),
    qualities: t.field({
      description: 'Accepted qualities and their multipliers',
      type: [QualityMultiplierRef],
      resolve: (options) =>
        Object.entries(options.qualityMultipliers).map(([quality, multiplier]) => ({
          quality: quality as GenerationQuality,
          multiplier,
        })),
    }),
    creditsPerImage: t.int({
      description: 'At STANDARD quality; the cost is this x quality multiplier x count',
      resolve: (_options, _args, context) => context.services.credits.costOf('AI_IMAGE_GENERATION'),
    }),
  }),
});

export const CreateImageGenerationInput = builder.inputType('CreateImageGenerationInput', {
  description: 'What to generate. Options come from imageGenerationOptions; the price is creditsPerImage x quality multiplier x count.',
  fields: (t) => ({
    prompt: t.string({ description: 'What to draw, 1-2000 characters', required: true }),
    negativePrompt: t.string({ description: 'What to avoid, at most 2000 characters', required: false }),
    type: t.field({ type: GenerationTypeEnum, required: false, description: 'Default TEXT_TO_IMAGE' }),
    style: t.string({ required: false, description: 'One of imageGenerationOptions.styles' }),
    aspectRatio: t.string({ required: false, description: 'One of imageGenerationOptions.aspectRatios; default the first' }),
    quality: t.field({ type: GenerationQualityEnum, required: false, description: 'Default STANDARD' }),
    model: t.string({ required: false, description: 'One of imageGenerationOptions.models; default the first' }),
    count: t.int({ required: false, description: 'Images to generate, 1-4; default 1' }),
    idempotencyKey: t.string({ required: false, description: 'Retrying with the same key returns the first generation' }),
    sourceImageId: t.globalID({
      required: false,
      for: StorageObjectNode,
      description: 'Your image to start from; required for IMAGE_TO_IMAGE, UPSCALE and VARIATION',
    }),
  }),
});

builder.prismaObjectFields('User', (t) => ({
  // A statement of its own rather than a join into the user's read: the page is limited before its images are
  // gathered, so a page costs the same for a user with 20 generations as for one with 20,000.
  imageGenerations: t.prismaConnection({
    type: 'ImageGeneration',
    cursor: 'createdAt_id',
    maxSize: 100,
    defaultSize: 20,
    totalCount: (user, args, context) =>
      context.prisma.imageGeneration.count({ where: context.services.generations.listFilter(user.id, args) }),
    authScopes: ownerOrAdmin,
    description: 'Generations, newest first; deleted ones are left out. The user themselves, and admins.',
    args: {
      status: t.arg({ type: GenerationStatusEnum, required: false, description: 'Only generations in this status' }),
      type: t.arg({ type: GenerationTypeEnum, required: false, description: 'Only generations of this type' }),
      from: t.arg({ type: 'DateTime', required: false, description: 'Created at or after' }),
      to: t.arg({ type: 'DateTime', required: false, description: 'Created before' }),
    },
    resolve: (query, user, args, context) =>
      context.prisma.imageGeneration.findMany({
        ...query,
        where: context.services.generations.listFilter(user.id, args),
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      }),
  }, ...connectionTypes('ImageGeneration', 'image generations')),
}));

// The where for imageGeneration(id), matching the node's own.
export const visibleGeneration = (id: string, context: Context) => ({
  id,
  userId: viewerIdOrNone(context),
  deletedAt: null,
});
