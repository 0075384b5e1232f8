import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { startFakeImageApi, b64Images, type FakeImageApi } from './support/fake-image-api.js';
import { startTestApp, type TestApp } from './support/app.js';

const CREATE = `mutation($input: CreateImageGenerationInput!) {
  createImageGeneration(input: $input) { __typename ... on ImageGeneration { id status credits } }
}`;
const GET = `query($id: ID!) {
  imageGeneration(id: $id) { status errorMessage failedAt completedAt credits outputs { url width height contentType } }
}`;
const LEDGER = `query { viewer {
  creditBalance { total }
  creditTransactions(first: 20) { edges { node { kind amount operation generation { id } } } }
} }`;

let api: TestApp;
let imageApi: FakeImageApi;
let storageDir: string;

beforeAll(async () => {
  imageApi = await startFakeImageApi();
  storageDir = await mkdtemp(join(tmpdir(), 'generation-failures-test-'));
  // No job workers here: the tests run each generation themselves, so every step is deterministic.
  api = await startTestApp({
    CREDITS_FREE_ALLOWANCE: '100',
    GENERATION_PROVIDER: 'http',
    GENERATION_HTTP_URL: imageApi.url,
    GENERATION_HTTP_API_KEY: 'sk-test-key',
    GENERATION_HTTP_TIMEOUT_MS: '300',
    STORAGE_LOCAL_DIR: storageDir,
  });
});
afterAll(async () => {
  await api.close();
  await imageApi.close();
  await rm(storageDir, { recursive: true, force: true });
});
beforeEach(() => {
  imageApi.requests.length = 0;
  imageApi.handler = (request) => b64Images(request.body);
});

const rawId = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1];

async function start(name: string, input: Record<string, unknown> = {}) {
  const token = await api.token(name);
  const response = await api.graphql(CREATE, { input: { prompt: `picture for ${name}`, ...input } }, token);
  const created = response.body.data.createImageGeneration;
  expect(created.__typename).toBe('ImageGeneration');
  const user = await api.db.prisma.user.findUniqueOrThrow({ where: { externalAuthId: name } });
  return { token, id: created.id as string, generationId: rawId(created.id), userId: user.id, credits: created.credits as number };
}

async function ledgerOf(token: string) {
  const viewer = (await api.graphql(LEDGER, {}, token)).body.data.viewer;
  return {
    total: viewer.creditBalance.total as number,
    rows: viewer.creditTransactions.edges
      .map(({ node: { generation, ...row } }: any) => ({ ...row, generationId: generation ? rawId(generation.id) : null }))
      .reverse(),
  };
}

describe('the http provider', () => {
  it('sends an OpenAI-style request and stores the b64_json images it gets back', async () => {
    const { token, id, generationId } = await start('http-ok', { count: 2, aspectRatio: '4:3', quality: 'HD' });
    await api.services.generations.run(generationId);
    const generation = (await api.graphql(GET, { id }, token)).body.data.imageGeneration;
    expect(generation).toMatchObject({ status: 'COMPLETED', errorMessage: null });
    expect(generation.outputs).toHaveLength(2);
    expect(generation.outputs[0]).toMatchObject({ width: 1024, height: 768, contentType: 'image/png' });
    const png = Buffer.from(await (await fetch(new URL(generation.outputs[0].url, api.url))).arrayBuffer());
    expect((await sharp(png).metadata()).format).toBe('png');

    expect(imageApi.requests).toHaveLength(1);
    const [request] = imageApi.requests;
    expect(request.path).toBe('/v1/images/generations');
    expect(request.headers.authorization).toBe('Bearer sk-test-key');
    expect(request.body).toEqual({
      model: 'local-diffusion-v1',
      prompt: 'picture for http-ok',
      n: 2,
      size: '1024x768',
      quality: 'hd',
      response_format: 'b64_json',
    });
  });

  it('retries a 5xx answer and completes when the provider recovers', async () => {
    let calls = 0;
    imageApi.handler = (request) =>
      ++calls === 1 ? { status: 503, json: { error: { message: 'overloaded' } } } : b64Images(request.body);
    const { token, id, generationId } = await start('http-retry');
    await api.services.generations.run(generationId);
    expect((await api.graphql(GET, { id }, token)).body.data.imageGeneration.status).toBe('COMPLETED');
    expect(imageApi.requests).toHaveLength(2);
  });

  it('fails on a refusal without retrying, records the error, and refunds the hold', async () => {
    imageApi.handler = () => ({ status: 400, json: { error: { message: 'Your prompt was rejected by the safety system' } } });
    const { token, id, generationId, credits } = await start('http-refused');
    expect((await ledgerOf(token)).total).toBe(100 - credits);

    const result = await api.services.generations.run(generationId);
    expect(result?.status).toBe('FAILED');
    expect(imageApi.requests).toHaveLength(1);

    const generation = (await api.graphql(GET, { id }, token)).body.data.imageGeneration;
    expect(generation).toMatchObject({ status: 'FAILED', completedAt: null, outputs: [] });
    expect(generation.errorMessage).toBe('The image provider answered 400: Your prompt was rejected by the safety system');
    expect(generation.failedAt).not.toBeNull();

    const ledger = await ledgerOf(token);
    expect(ledger.total).toBe(100);
    expect(ledger.rows.slice(-2)).toEqual([
      { kind: 'USAGE', amount: -credits, operation: 'AI_IMAGE_GENERATION', generationId },
      { kind: 'REFUND', amount: credits, operation: 'AI_IMAGE_GENERATION', generationId },
    ]);
    const dbGeneration = await api.db.prisma.imageGeneration.findUniqueOrThrow({ where: { id: generationId } });
    const reservation = await api.db.prisma.creditReservation.findUniqueOrThrow({ where: { id: dbGeneration.reservationId! } });
    expect(reservation.status).toBe('RELEASED');
    expect(await api.services.credits.reconcile()).toEqual([]);
  });

  it('gives up after its attempts when the provider never answers in time, and refunds', async () => {
    imageApi.handler = () => ({ status: 200, json: {}, wait: new Promise((resolve) => setTimeout(resolve, 1_000)) });
    const { token, id, generationId } = await start('http-timeout');
    await api.services.generations.run(generationId);
    const generation = (await api.graphql(GET, { id }, token)).body.data.imageGeneration;
    expect(generation.status).toBe('FAILED');
    expect(generation.errorMessage).toBe('The image provider did not answer within 300 ms');
    expect(imageApi.requests).toHaveLength(3);
    expect((await ledgerOf(token)).total).toBe(100);
  });

  it('fails when the answer is not an image', async () => {
    imageApi.handler = () => ({ status: 200, json: { data: [{ b64_json: Buffer.from('<html>nope</html>').toString('base64') }] } });
    const { token, id, generationId } = await start('http-not-an-image');
    await api.services.generations.run(generationId);
    const generation = (await api.graphql(GET, { id }, token)).body.data.imageGeneration;
    expect(generation).toMatchObject({ status: 'FAILED', errorMessage: expect.stringContaining('not a PNG, JPEG or WebP') });
    expect((await ledgerOf(token)).total).toBe(100);
  });
});

describe('the stall sweep', () => {
  it('fails and refunds a generation processing longer than the stall time, and a late worker changes nothing', async () => {
    const { token, id, generationId, credits } = await start('stalled-processing');
    await api.db.prisma.imageGeneration.update({
      where: { id: generationId },
      data: { status: 'PROCESSING', startedAt: new Date(Date.now() - 11 * 60_000) },
    });
    const fresh = await start('still-fresh');

    expect(await api.services.generations.failStalled()).toBe(1);
    const generation = (await api.graphql(GET, { id }, token)).body.data.imageGeneration;
    expect(generation).toMatchObject({ status: 'FAILED', errorMessage: 'The generation did not finish within 10 minutes' });
    expect((await ledgerOf(token)).total).toBe(100);
    expect((await ledgerOf(token)).rows.at(-1)).toMatchObject({ kind: 'REFUND', amount: credits, generationId });

    expect(await api.services.generations.failStalled()).toBe(0);
    await api.services.generations.run(generationId);
    expect((await api.graphql(GET, { id }, token)).body.data.imageGeneration.status).toBe('FAILED');
    expect(await api.db.prisma.creditTransaction.count({ where: { generationId, kind: 'REFUND' } })).toBe(1);
    expect(imageApi.requests).toHaveLength(0);
    expect((await api.db.prisma.imageGeneration.findUniqueOrThrow({ where: { id: fresh.generationId } })).status).toBe('PENDING');
  });

  it('fails and refunds a generation whose job never started', async () => {
    const { token, generationId } = await start('stalled-pending');
    await api.db.prisma.imageGeneration.update({
      where: { id: generationId },
      data: { createdAt: new Date(Date.now() - 11 * 60_000) },
    });
    expect(await api.services.generations.failStalled()).toBe(1);
    const generation = await api.db.prisma.imageGeneration.findUniqueOrThrow({ where: { id: generationId } });
    expect(generation).toMatchObject({ status: 'FAILED', errorMessage: 'The generation did not start within 10 minutes' });
    expect((await ledgerOf(token)).total).toBe(100);
  });

  it('a provider answer that arrives after the sweep keeps the refund and stores nothing', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let arrived!: () => void;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    imageApi.handler = async (request) => {
      arrived();
      return { ...(await b64Images(request.body)), wait: held };
    };
    const filesBefore = await readdir(storageDir, { recursive: true }).catch(() => []);
    const { token, generationId } = await start('late-answer');
    const running = api.services.generations.run(generationId);
    await requestArrived;
    await api.db.prisma.imageGeneration.update({
      where: { id: generationId },
      data: { startedAt: new Date(Date.now() - 11 * 60_000) },
    });
    expect(await api.services.generations.failStalled()).toBe(1);
    release();
    expect((await running)?.status).toBe('FAILED');

    expect(await api.db.prisma.generationImage.count({ where: { generationId } })).toBe(0);
    expect(await api.db.prisma.storageObject.count({ where: { user: { externalAuthId: 'late-answer' } } })).toBe(0);
    const filesAfter = (await readdir(storageDir, { recursive: true })).filter((file) => String(file).endsWith('.png'));
    expect(filesAfter.length).toBe(filesBefore.filter((file) => String(file).endsWith('.png')).length);
    expect((await ledgerOf(token)).total).toBe(100);
    const reservationStatus = (
      await api.db.prisma.creditReservation.findFirstOrThrow({ where: { generation: { id: generationId } } })
    ).status;
    expect(reservationStatus).toBe('RELEASED');
  });
});

describe('batching', () => {
  it('lists generations with their outputs in a fixed number of SQL statements, however many there are', async () => {
    const token = await api.token('batcher');
    for (let index = 0; index < 3; index++) {
      const { generationId } = await start('batcher', { prompt: `batch ${index}`, count: 2 });
      await api.services.generations.run(generationId);
    }
    const page = `query($first: Int) { viewer { imageGenerations(first: $first) { totalCount edges { node {
      id status outputs { url sizeBytes contentType width file { name checksum } } sourceImage { id }
    } } } } }`;
    const statementsFor = async (first: number) => {
      api.db.queries.length = 0;
      const response = await api.graphql(page, { first }, token);
      expect(response.body.data.viewer.imageGenerations.edges).toHaveLength(first);
      expect(response.body.data.viewer.imageGenerations.edges[0].node.outputs).toHaveLength(2);
      return api.db.queries.filter((query) => !/^(BEGIN|COMMIT)/i.test(query.trim())).length;
    };
    const one = await statementsFor(1);
    expect(await statementsFor(3)).toBe(one);
    // The viewer (authentication, then the field), the page, then one statement per relation level.
    expect(one).toBeLessThanOrEqual(6);
  });
});
