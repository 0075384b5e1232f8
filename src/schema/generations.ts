import type { Context } from '../context.js';
import { GenerationQuality, GenerationStatus, GenerationType } from '../generated/prisma/enums.js';
import { builder } from './builder.js';
import { ownerOnly, StorageObjectNode, viewerIdOrNone } from './storage.js';

export const GenerationTypeEnum = builder.enumType(GenerationType, { name: 'GenerationType' });
export const GenerationQualityEnum = builder.enumType(GenerationQuality, { name: 'GenerationQuality' });
export const GenerationStatusEnum = builder.enumType(GenerationStatus, { name: 'GenerationStatus' });

export const GenerationImageRef = builder.prismaObject('GenerationImage', {
  description: 'One output image of a generation',
  fields: (t) => ({
    id: t.exposeID('id'),
    position: t.exposeInt('position'),
    width: t.exposeInt('width'),
    height: t.exposeInt('height'),
    url: t.string({
      description: 'A signed download URL, valid for STORAGE_SIGNED_URL_TTL_SECONDS',
      select: { storageObject: { select: { id: true, name: true } } },
      resolve: (image, _args, context) => context.services.storage.signedUrl(image.storageObject),
    }),
    sizeBytes: t.int({
      select: { storageObject: { select: { sizeBytes: true } } },
      resolve: (image) => image.storageObject.sizeBytes,
    }),
    contentType: t.string({
      select: { storageObject: { select: { contentType: true } } },
      resolve: (image) => image.storageObject.contentType,
    }),
    file: t.relation('storageObject', { type: StorageObjectNode }),
  }),
});

export const ImageGenerationNode = builder.prismaNode('ImageGeneration', {
  id: { field: 'id' },
  nullable: true,
  // Another user's or a deleted generation reads as missing, through node(id) as much as imageGeneration(id).
  findUnique: (id, context) => ({ id, userId: viewerIdOrNone(context), deletedAt: null }),
  authScopes: (generation, context) => context.viewer?.id === generation.userId,
  fields: (t) => ({
    type: t.expose('type', { type: GenerationTypeEnum }),
    status: t.expose('status', { type: GenerationStatusEnum }),
    prompt: t.exposeString('prompt'),
    negativePrompt: t.exposeString('negativePrompt', { nullable: true }),
    style: t.exposeString('style', { nullable: true }),
    aspectRatio: t.exposeString('aspectRatio'),
    quality: t.expose('quality', { type: GenerationQualityEnum }),
    model: t.exposeString('model'),
    count: t.exposeInt('count', { description: 'Images requested' }),
    credits: t.exposeInt('credits', { description: 'Credits charged; refunded in full if the generation fails' }),
    processingTimeMs: t.exposeInt('processingTimeMs', { nullable: true }),
    errorMessage: t.exposeString('errorMessage', { nullable: true }),
    metadata: t.field({ type: 'JSONObject', resolve: (generation) => (generation.metadata ?? {}) as Record<string, unknown> }),
    outputs: t.relation('images', {
      query: { where: { storageObject: { deletedAt: null } }, orderBy: { position: 'asc' } },
    }),
    sourceImage: t.field({
      type: StorageObjectNode,
      nullable: true,
      description: 'The input image of an image-to-image, upscale or variation request',
      select: { sourceObject: true },
      resolve: (generation) => (generation.sourceObject && !generation.sourceObject.deletedAt ? generation.sourceObject : null),
    }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
    failedAt: t.expose('failedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
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
    fields: (t) => ({
      quality: t.expose('quality', { type: GenerationQualityEnum }),
      multiplier: t.exposeInt('multiplier'),
    }),
  });

export const GenerationOptionsRef = builder.objectRef<GenerationOptions>('ImageGenerationOptions').implement({
  description: 'What createImageGeneration accepts on this server, and what it costs',
  fields: (t) => ({
    models: t.exposeStringList('models', { description: 'The first is the default' }),
    styles: t.exposeStringList('styles'),
    aspectRatios: t.exposeStringList('aspectRatios', { description: 'The first is the default' }),
    maxCount: t.exposeInt('maxCount'),
    qualities: t.field({
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
  fields: (t) => ({
    prompt: t.string({ required: true }),
    negativePrompt: t.string({ required: false }),
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
  imageGenerations: t.relatedConnection('imageGenerations', {
    cursor: 'createdAt_id',
    maxSize: 100,
    defaultSize: 20,
    totalCount: true,
    authScopes: ownerOnly,
    description: 'Your generations, newest first; deleted ones are left out',
    args: {
      status: t.arg({ type: GenerationStatusEnum, required: false }),
      type: t.arg({ type: GenerationTypeEnum, required: false }),
      from: t.arg({ type: 'DateTime', required: false, description: 'Created at or after' }),
      to: t.arg({ type: 'DateTime', required: false, description: 'Created before' }),
    },
    query: (args, context) => ({
      where: context.services.generations.listFilter(null, args),
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    }),
  }, { name: 'ImageGenerationConnection' }, { name: 'ImageGenerationEdge' }),
}));

// The where for imageGeneration(id), matching the node's own.
export const visibleGeneration = (id: string, context: Context) => ({
  id,
  userId: viewerIdOrNone(context),
  deletedAt: null,
});
