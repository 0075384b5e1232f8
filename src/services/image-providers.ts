import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type Sharp from 'sharp';
import type { GenerationQuality, GenerationType } from '../generated/prisma/enums.js';
import type { Logger } from '../logger.js';

// sharp (libvips) is loaded on the first render, not at start.
let sharpModule: typeof Sharp | undefined;
const sharp: typeof Sharp = ((...args: Parameters<typeof Sharp>) => {
  sharpModule ??= createRequire(import.meta.url)('sharp') as typeof Sharp;
  return sharpModule(...args);
}) as typeof Sharp;

export interface SourceImage {
  data: Buffer;
  contentType: string;
}

export interface GenerationRequest {
  type: GenerationType;
  prompt: string;
  negativePrompt: string | null;
  style: string | null;
  model: string;
  quality: GenerationQuality;
  width: number;
  height: number;
  count: number;
  /** Everything that makes two requests the same request; the local provider renders from it. */
  seed: string;
  source: SourceImage | null;
}

export interface GeneratedImage {
  data: Buffer;
  contentType: string;
  width: number;
  height: number;
}

export interface GenerationOutput {
  images: GeneratedImage[];
  metadata: Record<string, unknown>;
}

export interface ImageProvider {
  readonly name: string;
  generate(request: GenerationRequest): Promise<GenerationOutput>;
}

/** A failure the provider reported; its message is shown to the user, so it never carries secrets. */
export class ImageProviderError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'ImageProviderError';
  }
}

const LONG_SIDE: Record<GenerationQuality, number> = { STANDARD: 512, HD: 1024 };
const MAX_UPSCALED_SIDE = 2048;
const CONTENT_TYPES: Record<string, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };

/** Output size for an aspect ratio like "16:9": the long side is fixed by quality, both sides are multiples of 8. */
export function dimensionsFor(aspectRatio: string, quality: GenerationQuality): { width: number; height: number } {
  const [w, h] = aspectRatio.split(':').map(Number);
  const long = LONG_SIDE[quality];
  const short = (side: number, other: number) => Math.max(8, Math.round((long * side) / other / 8) * 8);
  return w >= h ? { width: long, height: short(h, w) } : { width: short(w, h), height: long };
}

/** Reads an image's real format and size; refuses anything that is not a PNG, JPEG or WebP image. */
export async function inspectImage(data: Buffer): Promise<{ contentType: string; width: number; height: number }> {
  const meta = await sharp(data)
    .metadata()
    .catch(() => null);
  const contentType = meta?.format ? CONTENT_TYPES[meta.format] : undefined;
  if (!meta || !contentType || !meta.width || !meta.height) {
    throw new ImageProviderError('The image provider returned something that is not a PNG, JPEG or WebP image', false);
  }
  return { contentType, width: meta.width, height: meta.height };
}

/** Doubles the source's size (long side capped) with a Lanczos filter; no model is needed for this. */
export async function upscale(source: SourceImage): Promise<GeneratedImage> {
  const { width, height } = await inspectImage(source.data);
  const factor = Math.min(2, MAX_UPSCALED_SIDE / Math.max(width, height));
  const target = { width: Math.max(1, Math.round(width * factor)), height: Math.max(1, Math.round(height * factor)) };
  const data = await sharp(source.data).resize({ ...target, kernel: 'lanczos3' }).png().toBuffer();
  return { data, contentType: 'image/png', ...target };
}

// ------------------------------------------------------------------ local provider

/** A small seeded generator (mulberry32): the same seed always yields the same numbers. */
function randomFrom(seed: string) {
  let state = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function hslToRgb(hue: number, saturation: number, lightness: number): [number, number, number] {
  const k = (n: number) => (n + hue / 30) % 12;
  const a = saturation * Math.min(lightness, 1 - lightness);
  const f = (n: number) => lightness - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [f(0), f(8), f(4)].map((value) => Math.round(value * 255)) as [number, number, number];
}

/**
 * A coarse field of soft colour blobs whose palette, positions and sizes all come from the seed. Scaled up with a
 * cubic filter it becomes a smooth abstract picture; the style then shapes it with ordinary image operations.
 */
function renderField(seed: string, columns: number, rows: number): Buffer {
  const random = randomFrom(seed);
  const baseHue = random() * 360;
  const background = hslToRgb(baseHue, 0.35, 0.2 + random() * 0.2);
  const blobs = Array.from({ length: 4 + Math.floor(random() * 4) }, () => ({
    x: random(),
    y: random(),
    radius: 0.12 + random() * 0.3,
    color: hslToRgb((baseHue + random() * 160 - 80 + 360) % 360, 0.5 + random() * 0.5, 0.35 + random() * 0.4),
  }));
  const pixels = Buffer.alloc(columns * rows * 3);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      const x = (column + 0.5) / columns;
      const y = (row + 0.5) / rows;
      let [r, g, b] = background;
      for (const blob of blobs) {
        const distance = ((x - blob.x) ** 2 + (y - blob.y) ** 2) / blob.radius ** 2;
        const weight = Math.exp(-distance);
        r += (blob.color[0] - r) * weight;
        g += (blob.color[1] - g) * weight;
        b += (blob.color[2] - b) * weight;
      }
      const offset = (row * columns + column) * 3;
      pixels[offset] = Math.round(r);
      pixels[offset + 1] = Math.round(g);
      pixels[offset + 2] = Math.round(b);
    }
  }
  return pixels;
}

type Pipeline = ReturnType<typeof sharp>;

function styled(image: Pipeline, style: string | null): Pipeline {
  switch (style) {
    case 'photographic':
      return image.modulate({ saturation: 0.85 }).sharpen();
    case 'digital-art':
      return image.modulate({ saturation: 1.35 });
    case 'anime':
      return image.modulate({ saturation: 1.6, brightness: 1.08 }).linear(1.25, -20);
    case 'watercolor':
      return image.blur(8).modulate({ saturation: 0.75, brightness: 1.15 });
    case 'line-art':
      return image.greyscale().threshold(110);
    default:
      return image;
  }
}

async function renderLocal(request: GenerationRequest, index: number): Promise<GeneratedImage> {
  const seed = `${request.seed}#${index}`;
  const { width, height } = request;
  if (request.type === 'UPSCALE' && request.source) return upscale(request.source);

  const pixelArt = request.style === 'pixel-art';
  const columns = pixelArt ? 32 : 24;
  const rows = Math.max(2, Math.round((columns * height) / width));
  const field = sharp(renderField(seed, columns, rows), { raw: { width: columns, height: rows, channels: 3 } }).resize(
    width,
    height,
    { kernel: pixelArt ? 'nearest' : 'cubic', fit: 'fill' },
  );
  let picture: Buffer = await styled(field, request.style).png().toBuffer();

  if (request.source && request.type === 'IMAGE_TO_IMAGE') {
    // The prompt's picture laid over the source, so the source's composition shows through.
    picture = await sharp(request.source.data)
      .resize(width, height, { fit: 'cover' })
      .composite([{ input: picture, blend: 'soft-light' }])
      .png()
      .toBuffer();
  } else if (request.source && request.type === 'VARIATION') {
    const hue = Math.floor(randomFrom(seed)() * 300) + 30;
    picture = await sharp(request.source.data)
      .resize(width, height, { fit: 'cover' })
      .modulate({ hue, saturation: 1.1 })
      .png()
      .toBuffer();
  }
  // Compression settings are fixed so the same request always produces the same bytes.
  const data = await sharp(picture).png({ compressionLevel: 9, adaptiveFiltering: false }).toBuffer();
  return { data, contentType: 'image/png', width, height };
}

/** Renders real PNGs from the request, deterministically and without a model or network: for development and tests. */
export function createLocalImageProvider(): ImageProvider {
  return {
    name: 'local',
    async generate(request) {
      const count = request.type === 'UPSCALE' ? 1 : request.count;
      const images: GeneratedImage[] = [];
      for (let index = 0; index < count; index++) images.push(await renderLocal(request, index));
      return { images, metadata: { renderer: 'local', seed: createHash('sha256').update(request.seed).digest('hex') } };
    },
  };
}

// ------------------------------------------------------------------ http provider (OpenAI-compatible images API)

export interface HttpImageProviderOptions {
  /** The generations endpoint, e.g. https://api.openai.com/v1/images/generations; edits and variations are its siblings. */
  url: string;
  apiKey?: string;
  timeoutMs: number;
  attempts?: number;
  retryDelayMs?: number;
  log: Logger;
}

interface OpenAiImagesResponse {
  data?: { b64_json?: string; url?: string; revised_prompt?: string }[];
  error?: { message?: string };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function siblingEndpoint(url: string, name: 'edits' | 'variations') {
  const parsed = new URL(url);
  parsed.pathname = parsed.pathname.replace(/\/generations\/?$/, '') + `/${name}`;
  return parsed.toString();
}

async function describeFailure(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  let message = text;
  try {
    message = (JSON.parse(text) as OpenAiImagesResponse).error?.message ?? text;
  } catch {
    // not JSON: the text itself
  }
  return `The image provider answered ${response.status}${message ? `: ${message.slice(0, 300)}` : ''}`;
}

/**
 * Calls an OpenAI-compatible images API: text-to-image on the configured endpoint, image-to-image on `edits`,
 * variations on `variations`. Each attempt has its own timeout; network failures, timeouts, 429 and 5xx answers are
 * retried with back-off (honouring Retry-After), anything else fails at once. Upscaling needs no model and is done
 * here with sharp.
 */
export function createHttpImageProvider(options: HttpImageProviderOptions): ImageProvider {
  const attempts = options.attempts ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 250;

  function buildRequest(request: GenerationRequest): { url: string; init: RequestInit } {
    const headers: Record<string, string> = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
    const size = `${request.width}x${request.height}`;
    if (request.type === 'TEXT_TO_IMAGE' || !request.source) {
      const body: Record<string, unknown> = {
        model: request.model,
        prompt: request.prompt,
        n: request.count,
        size,
        quality: request.quality === 'HD' ? 'hd' : 'standard',
        response_format: 'b64_json',
      };
      if (request.negativePrompt) body.negative_prompt = request.negativePrompt;
      if (request.style) body.style = request.style;
      return {
        url: options.url,
        init: { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) },
      };
    }
    const form = new FormData();
    form.set('image', new Blob([new Uint8Array(request.source.data)], { type: request.source.contentType }), 'source.png');
    form.set('model', request.model);
    form.set('n', String(request.count));
    form.set('size', size);
    form.set('response_format', 'b64_json');
    if (request.type === 'IMAGE_TO_IMAGE') form.set('prompt', request.prompt);
    const endpoint = siblingEndpoint(options.url, request.type === 'IMAGE_TO_IMAGE' ? 'edits' : 'variations');
    return { url: endpoint, init: { method: 'POST', headers, body: form } };
  }

  async function attempt(url: string, init: RequestInit): Promise<OpenAiImagesResponse> {
    let response: Response;
    try {
      response = await fetch(url, { ...init, signal: AbortSignal.timeout(options.timeoutMs) });
    } catch (error) {
      // AbortSignal.timeout rejects with a DOMException named TimeoutError (not always `instanceof Error` across realms).
      const name = (error as { name?: unknown } | null)?.name;
      const timedOut = name === 'TimeoutError' || name === 'AbortError';
      throw new ImageProviderError(
        timedOut
          ? `The image provider did not answer within ${options.timeoutMs} ms`
          : 'The image provider could not be reached',
        true,
      );
    }
    if (!response.ok) {
      const retryable = response.status === 429 || response.status >= 500;
      const error = new ImageProviderError(await describeFailure(response), retryable);
      const retryAfter = Number(response.headers.get('retry-after'));
      throw Object.assign(error, { retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null });
    }
    try {
      return (await response.json()) as OpenAiImagesResponse;
    } catch {
      throw new ImageProviderError('The image provider answered with something that is not JSON', true);
    }
  }

  async function download(url: string): Promise<Buffer> {
    const response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs) }).catch(() => null);
    if (!response?.ok) throw new ImageProviderError('An image the provider linked to could not be downloaded', false);
    return Buffer.from(await response.arrayBuffer());
  }

  return {
    name: 'http',
    async generate(request) {
      if (request.type === 'UPSCALE') {
        if (!request.source) throw new ImageProviderError('Upscaling needs a source image', false);
        return { images: [await upscale(request.source)], metadata: { renderer: 'lanczos3' } };
      }
      const { url, init } = buildRequest(request);
      let body: OpenAiImagesResponse | null = null;
      for (let number = 1; ; number++) {
        try {
          body = await attempt(url, init);
          break;
        } catch (error) {
          const failure = error as ImageProviderError & { retryAfterMs?: number | null };
          if (!(failure instanceof ImageProviderError) || !failure.retryable || number >= attempts) throw error;
          const delay = Math.min(failure.retryAfterMs ?? retryDelayMs * 4 ** (number - 1), 10_000);
          options.log.warn({ attempt: number, delayMs: delay, reason: failure.message }, 'image provider failed; retrying');
          await sleep(delay);
        }
      }
      const items = body?.data ?? [];
      if (items.length === 0) throw new ImageProviderError('The image provider returned no images', false);
      const images: GeneratedImage[] = [];
      for (const item of items.slice(0, request.count)) {
        const data = item.b64_json ? Buffer.from(item.b64_json, 'base64') : item.url ? await download(item.url) : null;
        if (!data) throw new ImageProviderError('The image provider returned an item without b64_json or url', false);
        images.push({ data, ...(await inspectImage(data)) });
      }
      const revisedPrompts = items.map((item) => item.revised_prompt).filter(Boolean);
      return { images, metadata: { renderer: 'http', ...(revisedPrompts.length ? { revisedPrompts } : {}) } };
    },
  };
}

export function createImageProvider(
  config: { provider: 'local' | 'http'; httpUrl?: string; httpApiKey?: string; httpTimeoutMs: number },
  log: Logger,
): ImageProvider {
  if (config.provider === 'http' && config.httpUrl) {
    return createHttpImageProvider({ url: config.httpUrl, apiKey: config.httpApiKey, timeoutMs: config.httpTimeoutMs, log });
  }
  return createLocalImageProvider();
}
