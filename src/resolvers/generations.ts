import { InsufficientCreditsError, NotFoundError, RateLimitedError, ValidationError } from '../services/errors.js';
import { builder } from '../schema/builder.js';
import {
  CreateImageGenerationInput,
  GenerationOptionsRef,
  ImageGenerationNode,
  visibleGeneration,
} from '../schema/generations.js';
import { DeletionRef } from '../schema/storage.js';

builder.queryFields((t) => ({
  imageGeneration: t.withAuth({ loggedIn: true }).prismaField({
    type: ImageGenerationNode,
    nullable: true,
    description: 'One of your generations; null when it does not exist, is deleted, or is not yours',
    args: { id: t.arg.globalID({ required: true, for: ImageGenerationNode, description: 'Global id of the generation' }) },
    resolve: (query, _root, args, context) =>
      context.prisma.imageGeneration.findUnique({ ...query, where: visibleGeneration(args.id.id, context) }),
  }),
  imageGenerationOptions: t.field({
    description: 'What createImageGeneration accepts on this server and what it costs; public',
    type: GenerationOptionsRef,
    resolve: (_root, _args, context) => context.services.generations.options,
  }),
}));

builder.mutationFields((t) => ({
  createImageGeneration: t.withAuth({ loggedIn: true }).prismaField({
    type: ImageGenerationNode,
    description: 'Holds the credits and queues the generation; poll imageGeneration(id) until COMPLETED or FAILED',
    errors: { types: [InsufficientCreditsError, ValidationError, RateLimitedError], directResult: true },
    args: { input: t.arg({ type: CreateImageGenerationInput, required: true, description: 'What to generate' }) },
    resolve: async (query, _root, { input }, context) => {
      const { generation } = await context.services.generations.create(context.viewer.id, {
        ...input,
        sourceImageId: input.sourceImageId?.id,
      });
      return context.prisma.imageGeneration.findUniqueOrThrow({ ...query, where: { id: generation.id } });
    },
  }),
  deleteImageGeneration: t.withAuth({ loggedIn: true }).field({
    description: 'Hides one of your generations and its images at once; the bytes are purged after retention. Credits are not refunded.',
    type: DeletionRef,
    errors: { types: [NotFoundError], directResult: true },
    args: { id: t.arg.globalID({ required: true, for: ImageGenerationNode, description: 'Global id of the generation' }) },
    resolve: async (_root, args, context) => ({
      typename: 'ImageGeneration',
      ...(await context.services.generations.softDelete(context.viewer.id, args.id.id)),
    }),
  }),
}));
