import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { GenerationQuality, GenerationStatus, GenerationType, ImageGeneration } from '../generated/prisma/client.js';
import { Prisma } from '../generated/prisma/client.js';
import { GenerationQuality as GenerationQualities, GenerationType as GenerationTypes } from '../generated/prisma/enums.js';
import type { Db, Tx } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { CreditsService } from './credits.js';
import { ConflictError, NotFoundError, ValidationError } from './errors.js';
import { isUuid } from './ids.js';
import {
  dimensionsFor,
  ImageProviderError,
  type GenerationRequest,
  type ImageProvider,
  type SourceImage,
} from './image-providers.js';
import type { RateLimiter } from './rate-limit.js';
import type { StorageService, StoredFile } from './storage.js';
import { idempotencyKey, integerBetween, parseInput } from './validation.js';

export const GENERATION_OPERATION = 'AI_IMAGE_GENERATION';
/** Generation holds belong to the generation flow: only it (or an admin) settles them, never the user. */
const GENERATION_FLOW = { kind: 'SYSTEM', flow: 'generation' } as const;
export const QUALITY_MULTIPLIER: Record<GenerationQuality, number> = { STANDARD: 1, HD: 2 };
export const MAX_IMAGES_PER_GENERATION = 4;

const PROMPT_MAX_LENGTH = 2000;
const ERROR_MESSAGE_MAX_LENGTH = 500;
const NEEDS_SOURCE: GenerationType[] = ['IMAGE_TO_IMAGE', 'UPSCALE', 'VARIATION'];
const STALL_SWEEP_BATCH = 200;

export interface GenerationsConfig {
  models: string[];
  styles: string[];
  aspectRatios: string[];
  stallMinutes: number;
  /** The credits service's default hold; a generation's hold is stretched to outlive the stall sweep. */
  reservationTtlSeconds: number;
}

export interface GenerationsServiceDeps {
  prisma: Db;
  log: Logger;
  credits: CreditsService;
  storage: StorageService;
  provider: ImageProvider;
  rateLimiter: RateLimiter;
  config: GenerationsConfig;
  now?: () => Date;
}

export interface CreateGenerationInput {
  prompt: string;
  negativePrompt?: string | null;
  type?: GenerationType | null;
  style?: string | null;
  aspectRatio?: string | null;
  quality?: GenerationQuality | null;
  model?: string | null;
  count?: number | null;
  idempotencyKey?: string | null;
  sourceImageId?: string | null;
}

export interface CreatedGeneration {
  generation: ImageGeneration;
  /** True when the idempotency key was used before: the first generation, nothing charged this time. */
  replayed: boolean;
}

export interface GenerationListFilter {
  status?: GenerationStatus | null;
  type?: GenerationType | null;
  from?: Date | null;
  to?: Date | null;
}

const oneOf = (allowed: string[], rule: (value: string) => boolean = () => true) =>
  z.string().refine((value) => allowed.includes(value) && rule(value), `must be one of ${allowed.join(', ')}`);
const promptText = z.string().trim().max(PROMPT_MAX_LENGTH, `must be at most ${PROMPT_MAX_LENGTH} characters`);

/** What a generation request may ask for: the models, styles and aspect ratios this server is configured with. */
function generationInputSchema({ models, styles, aspectRatios }: Pick<GenerationsConfig, 'models' | 'styles' | 'aspectRatios'>) {
  return z
    .object({
      prompt: promptText.min(1, 'must not be empty'),
      negativePrompt: promptText.nullish().transform((text) => text || null),
      type: z.enum(GenerationTypes).nullish().transform((type) => type ?? 'TEXT_TO_IMAGE'),
      style: oneOf(styles).nullish().transform((style) => style ?? null),
      aspectRatio: oneOf(aspectRatios, (ratio) => /^\d{1,2}:\d{1,2}$/.test(ratio)).nullish().transform((ratio) => ratio ?? aspectRatios[0]),
      quality: z.enum(GenerationQualities).nullish().transform((quality) => quality ?? 'STANDARD'),
      model: oneOf(models).nullish().transform((model) => model ?? models[0]),
      count: integerBetween(1, MAX_IMAGES_PER_GENERATION, `must be between 1 and ${MAX_IMAGES_PER_GENERATION}`)
        .nullish()
        .transform((count) => count ?? 1),
      idempotencyKey: idempotencyKey.nullish().transform((key) => key ?? null),
      sourceImageId: z.string().nullish().transform((id) => id ?? null),
    })
    .superRefine((input, context) => {
      const refuse = (path: string, message: string) => context.addIssue({ code: 'custom', path: [path], message });
      if (NEEDS_SOURCE.includes(input.type) && !input.sourceImageId) refuse('sourceImageId', `is required for ${input.type}`);
      if (input.type === 'TEXT_TO_IMAGE' && input.sourceImageId) refuse('sourceImageId', 'is only for image inputs');
      if (input.type === 'UPSCALE' && input.count !== 1) refuse('count', 'must be 1 for UPSCALE');
    });
}

type ValidInput = z.output<ReturnType<typeof generationInputSchema>>;


/**
 * Image generations: a request is validated, its credits are held and the pending record written in one
 * transaction; a generation worker claims it, renders it through the configured provider, stores the images and confirms the hold, or
 * records the failure and releases the hold (a REFUND row). Every state change is a conditional UPDATE on the
 * current status, so a retried job, a stall sweep and a completion can race without double-charging or refunding.
 */
export class GenerationsService {
  private readonly now: () => Date;

  private readonly input: ReturnType<typeof generationInputSchema>;

  constructor(private readonly deps: GenerationsServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    this.input = generationInputSchema(deps.config);
  }

  get options() {
    const { models, styles, aspectRatios } = this.deps.config;
    return { models, styles, aspectRatios, maxCount: MAX_IMAGES_PER_GENERATION, qualityMultipliers: QUALITY_MULTIPLIER };
  }

  // ------------------------------------------------------------------ validation and cost

  validate(input: CreateGenerationInput): ValidInput {
    return parseInput(this.input, input);
  }

  async costOf(input: { quality: GenerationQuality; count: number }): Promise<number> {
    return (await this.deps.credits.costOf(GENERATION_OPERATION)) * QUALITY_MULTIPLIER[input.quality] * input.count;
  }

  // ------------------------------------------------------------------ creating

  async create(userId: string, rawInput: CreateGenerationInput): Promise<CreatedGeneration> {
    const input = this.validate(rawInput);
    const { prisma } = this.deps;
    if (input.idempotencyKey) {
      const previous = await prisma.imageGeneration.findUnique({
        where: { userId_idempotencyKey: { userId, idempotencyKey: input.idempotencyKey } },
      });
      if (previous) return { generation: previous, replayed: true };
    }
    await this.deps.rateLimiter.consume(`credits:${userId}`);
    if (input.sourceImageId && !(await this.deps.storage.findOwned(userId, input.sourceImageId))) {
      throw ValidationError.forField('sourceImageId', 'is not one of your images');
    }
    const cost = await this.costOf(input);
    const ttlSeconds = Math.min(86_400, Math.max(this.deps.config.reservationTtlSeconds, 2 * this.deps.config.stallMinutes * 60 + 60));

    const result = await this.transaction(async (tx): Promise<CreatedGeneration> => {
      if (input.idempotencyKey) {
        // Twins with one key queue here; the second then finds what the first committed.
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`generation:${userId}:${input.idempotencyKey}`}))`;
        const previous = await tx.imageGeneration.findUnique({
          where: { userId_idempotencyKey: { userId, idempotencyKey: input.idempotencyKey } },
        });
        if (previous) return { generation: previous, replayed: true };
      }
      const { width, height } = dimensionsFor(input.aspectRatio, input.quality);
      const pending = await tx.imageGeneration.create({
        data: {
          userId,
          type: input.type,
          prompt: input.prompt,
          negativePrompt: input.negativePrompt,
          style: input.style,
          aspectRatio: input.aspectRatio,
          quality: input.quality,
          model: input.model,
          count: input.count,
          credits: cost,
          idempotencyKey: input.idempotencyKey,
          sourceObjectId: input.sourceImageId,
          metadata: { width, height },
        },
      });
      // An admin may make generations free (feature cost 0): there is nothing to hold.
      if (cost === 0) return { generation: pending, replayed: false };
      const { reservation } = await this.deps.credits.reserve(
        GENERATION_FLOW,
        userId,
        {
          operation: GENERATION_OPERATION,
          amount: cost,
          ttlSeconds,
          generationId: pending.id,
          details: { generationId: pending.id, quality: input.quality, count: input.count },
        },
        tx,
      );
      const generation = await tx.imageGeneration.update({ where: { id: pending.id }, data: { reservationId: reservation.id } });
      return { generation, replayed: false };
    });

    // The new PENDING row is the queue entry: a trigger wakes the generation workers (NOTIFY generation_pending).
    return result;
  }

  // ------------------------------------------------------------------ running

  /** Renders a pending generation. Safe to call twice: only the call that moves it to PROCESSING does the work. */
  async run(generationId: string): Promise<ImageGeneration | null> {
    const { prisma } = this.deps;
    if (!isUuid(generationId)) return null;
    const claimed = await prisma.imageGeneration.updateMany({
      where: { id: generationId, status: 'PENDING', deletedAt: null },
      data: { status: 'PROCESSING', startedAt: this.now() },
    });
    if (claimed.count === 0) {
      const current = await prisma.imageGeneration.findUnique({ where: { id: generationId } });
      if (current?.status === 'PENDING' && current.deletedAt) {
        return this.fail(generationId, ['PENDING'], 'The generation was deleted before it started');
      }
      return current;
    }
    return this.render(await prisma.imageGeneration.findUniqueOrThrow({ where: { id: generationId } }));
  }

  /**
   * Takes up to `limit` queued generations, oldest first, for one worker: each row moves to PROCESSING for exactly
   * one claimer (FOR UPDATE SKIP LOCKED, then a conditional UPDATE in the same statement).
   */
  async claimPending(limit: number): Promise<ImageGeneration[]> {
    const startedAt = this.now();
    const claimed = await this.deps.prisma.$queryRaw<{ id: string }[]>`
      WITH queued AS (
        SELECT id FROM "ImageGeneration" WHERE status = 'PENDING'
        ORDER BY "createdAt", id LIMIT ${limit} FOR UPDATE SKIP LOCKED
      )
      UPDATE "ImageGeneration" g SET status = 'PROCESSING', "startedAt" = ${startedAt}, "updatedAt" = ${startedAt}
      FROM queued WHERE g.id = queued.id AND g.status = 'PENDING'
      RETURNING g.id`;
    if (claimed.length === 0) return [];
    return this.deps.prisma.imageGeneration.findMany({ where: { id: { in: claimed.map((row) => row.id) } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  }

  /** Renders a generation this process claimed (moved to PROCESSING); settles it as completed or failed. */
  async render(generation: ImageGeneration): Promise<ImageGeneration | null> {
    const { prisma, storage, provider, log } = this.deps;
    const generationId = generation.id;
    if (generation.deletedAt) return this.fail(generationId, ['PROCESSING'], 'The generation was deleted before it started');
    const startedAt = generation.startedAt ?? this.now();
    const metadata = (generation.metadata ?? {}) as Record<string, unknown>;
    const { width, height } = dimensionsFor(generation.aspectRatio, generation.quality);

    let written: StoredFile[] = [];
    try {
      const source = await this.loadSource(generation);
      const request: GenerationRequest = {
        type: generation.type,
        prompt: generation.prompt,
        negativePrompt: generation.negativePrompt,
        style: generation.style,
        model: generation.model,
        quality: generation.quality,
        width,
        height,
        count: generation.count,
        seed: this.seedOf(generation, source),
        source,
      };
      const output = await provider.generate(request);
      const images = output.images.slice(0, generation.count);
      for (const [position, image] of images.entries()) {
        const extension = image.contentType === 'image/png' ? 'png' : image.contentType.split('/')[1];
        written.push(
          await storage.write(generation.userId, {
            name: `generation-${generation.id}-${position + 1}.${extension}`,
            contentType: image.contentType,
            data: image.data,
          }),
        );
      }
      const completedAt = this.now();
      const completed = await this.transaction(async (tx) => {
        const moved = await tx.imageGeneration.updateMany({
          where: { id: generationId, status: 'PROCESSING' },
          data: {
            status: 'COMPLETED',
            completedAt,
            processingTimeMs: completedAt.getTime() - startedAt.getTime(),
            metadata: { ...metadata, ...output.metadata, provider: provider.name, width, height } as Prisma.InputJsonObject,
          },
        });
        if (moved.count === 0) throw new ConflictError('The generation stopped processing before it finished');
        const current = await tx.imageGeneration.findUniqueOrThrow({ where: { id: generationId } });
        for (const [position, file] of written.entries()) {
          const object = await storage.record(tx, generation.userId, file, { deletedAt: current.deletedAt });
          await tx.generationImage.create({
            data: {
              generationId,
              storageObjectId: object.id,
              position,
              width: images[position].width,
              height: images[position].height,
            },
          });
        }
        if (current.reservationId) {
          await this.deps.credits.finalize(GENERATION_FLOW, current.reservationId, 'CONFIRM', { reason: 'generation completed' }, tx);
        }
        return current;
      });
      log.info({ generationId, images: written.length, ms: completed.processingTimeMs }, 'generation completed');
      return completed;
    } catch (error) {
      await storage.discard(written);
      written = [];
      if (error instanceof ConflictError) {
        // The stall sweep (or an expired hold) settled it first; its refund stands.
        log.warn({ generationId, reason: error.message }, 'generation finished after it was settled');
        return prisma.imageGeneration.findUnique({ where: { id: generationId } });
      }
      const message =
        error instanceof ImageProviderError ? error.message : 'The image could not be generated because of an internal error';
      if (!(error instanceof ImageProviderError)) log.error({ err: error, generationId }, 'generation failed unexpectedly');
      return this.fail(generationId, ['PROCESSING'], message);
    }
  }

  private async loadSource(generation: ImageGeneration): Promise<SourceImage | null> {
    if (!generation.sourceObjectId) return null;
    const object = await this.deps.prisma.storageObject.findFirst({
      where: { id: generation.sourceObjectId, userId: generation.userId, purgedAt: null },
    });
    if (!object) throw new ImageProviderError('The source image no longer exists', false);
    return { data: await this.deps.storage.readBytes(object), contentType: object.contentType };
  }

  private seedOf(generation: ImageGeneration, source: SourceImage | null): string {
    const parts = [generation.type, generation.prompt, generation.negativePrompt ?? '', generation.style ?? '', generation.model];
    parts.push(generation.aspectRatio, generation.quality);
    if (source) parts.push(createHash('sha256').update(source.data).digest('hex'));
    return parts.join('\u0000');
  }

  /**
   * Moves a generation from one of `from` to FAILED and releases its credit hold (a REFUND ledger row linked to the
   * generation). Does nothing if the generation has already left those states.
   */
  async fail(generationId: string, from: GenerationStatus[], message: string): Promise<ImageGeneration | null> {
    return (await this.settleAsFailed(generationId, from, message)).generation;
  }

  private async settleAsFailed(generationId: string, from: GenerationStatus[], message: string) {
    const failedAt = this.now();
    return this.transaction(async (tx) => {
      const moved = await tx.imageGeneration.updateMany({
        where: { id: generationId, status: { in: from } },
        data: { status: 'FAILED', failedAt, errorMessage: message.slice(0, ERROR_MESSAGE_MAX_LENGTH) },
      });
      const generation = await tx.imageGeneration.findUnique({ where: { id: generationId } });
      if (moved.count === 0 || !generation?.reservationId) return { generation, changed: moved.count > 0 };
      try {
        await this.deps.credits.finalize(
          GENERATION_FLOW,
          generation.reservationId,
          'RELEASE',
          { reason: 'generation failed', generationId },
          tx,
        );
      } catch (error) {
        // A hold that expired was already released by the credits job; nothing more to give back.
        if (!(error instanceof ConflictError)) throw error;
      }
      this.deps.log.info({ generationId, reason: message }, 'generation failed; credits released');
      return { generation, changed: true };
    });
  }

  /**
   * Fails and refunds generations stuck for longer than GENERATION_STALL_MINUTES: processing (a worker died) or
   * still pending (the job was lost or the queue is down). Returns how many it settled.
   */
  async failStalled(): Promise<number> {
    const cutoff = new Date(this.now().getTime() - this.deps.config.stallMinutes * 60_000);
    const stalled = await this.deps.prisma.imageGeneration.findMany({
      where: {
        OR: [
          { status: 'PROCESSING', startedAt: { lt: cutoff } },
          { status: 'PENDING', createdAt: { lt: cutoff } },
        ],
      },
      select: { id: true, status: true },
      take: STALL_SWEEP_BATCH,
    });
    let failed = 0;
    for (const { id, status } of stalled) {
      const message =
        status === 'PROCESSING'
          ? `The generation did not finish within ${this.deps.config.stallMinutes} minutes`
          : `The generation did not start within ${this.deps.config.stallMinutes} minutes`;
      if ((await this.settleAsFailed(id, [status], message)).changed) failed++;
    }
    return failed;
  }

  // ------------------------------------------------------------------ reading and deleting

  /** The `where` for one user's visible generations with the list filters applied. */
  listFilter(userId: string | null, filter: GenerationListFilter = {}): Prisma.ImageGenerationWhereInput {
    return {
      ...(userId ? { userId } : {}),
      deletedAt: null,
      ...(filter.status ? { status: filter.status } : {}),
      ...(filter.type ? { type: filter.type } : {}),
      ...(filter.from || filter.to
        ? { createdAt: { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lt: filter.to } : {}) } }
        : {}),
    };
  }

  /** Hides the generation and its images at once; the image bytes are purged after the storage retention period. */
  async softDelete(userId: string, generationId: string): Promise<{ id: string; deletedAt: Date }> {
    const deletedAt = this.now();
    if (!isUuid(generationId)) throw new NotFoundError('ImageGeneration', generationId);
    return this.transaction(async (tx) => {
      const { count } = await tx.imageGeneration.updateMany({
        where: { id: generationId, userId, deletedAt: null },
        data: { deletedAt },
      });
      if (count === 0) throw new NotFoundError('ImageGeneration', generationId);
      await tx.storageObject.updateMany({
        where: { userId, deletedAt: null, generationImage: { generationId } },
        data: { deletedAt },
      });
      return { id: generationId, deletedAt };
    });
  }

  /** Removes failed generations older than the retention period; their ledger rows stay and keep the generation's id. */
  async removeOldFailed(retentionDays: number): Promise<number> {
    const cutoff = new Date(this.now().getTime() - retentionDays * 86_400_000);
    const { count } = await this.deps.prisma.imageGeneration.deleteMany({
      where: { status: 'FAILED', failedAt: { lt: cutoff } },
    });
    return count;
  }

  private transaction<T>(run: (tx: Tx) => Promise<T>): Promise<T> {
    return this.deps.prisma.$transaction(run, { timeout: 15_000, maxWait: 15_000 });
  }
}
