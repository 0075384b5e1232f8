import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { startTestApp, type TestApp } from './support/app.js';

const GENERATION_FIELDS = `
  id type status prompt style aspectRatio quality model count credits processingTimeMs errorMessage metadata
  startedAt completedAt failedAt createdAt
  outputs { id position url width height sizeBytes contentType file { id name checksum } }
`;
const CREATE = `mutation($input: CreateImageGenerationInput!) {
  createImageGeneration(input: $input) {
    __typename
    ... on ImageGeneration { ${GENERATION_FIELDS} }
    ... on InsufficientCreditsError { required available }
    ... on ValidationError { message issues { path message } }
    ... on RateLimitedError { retryAfterSeconds }
  }
}`;
const GET = `query($id: ID!) { imageGeneration(id: $id) { ${GENERATION_FIELDS} } }`;
const NODE = `query($id: ID!) { node(id: $id) { id ... on ImageGeneration { status } ... on StorageObject { name } } }`;
const LIST = `query($first: Int, $after: String, $status: GenerationStatus, $type: GenerationType, $from: DateTime, $to: DateTime) {
  viewer { imageGenerations(first: $first, after: $after, status: $status, type: $type, from: $from, to: $to) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id prompt status } }
  } }
}`;
const BALANCE = `query { viewer { creditBalance { total } } }`;

let api: TestApp;
let storageDir: string;

beforeAll(async () => {
  storageDir = await mkdtemp(join(tmpdir(), 'generations-test-'));
  api = await startTestApp({
    JOBS_ENABLED: 'true',
    CREDITS_FREE_ALLOWANCE: '100',
    CREDITS_RATE_LIMIT_PER_MINUTE: '20',
    STORAGE_LOCAL_DIR: storageDir,
  });
});
afterAll(async () => {
  await api.close();
  await rm(storageDir, { recursive: true, force: true });
});

async function user(name: string) {
  return (await api.signUp(name)).token;
}

async function create(token: string, input: Record<string, unknown>) {
  const response = await api.graphql(CREATE, { input }, token);
  expect(response.body.errors).toBeUndefined();
  return response.body.data.createImageGeneration;
}

async function balance(token: string): Promise<number> {
  return (await api.graphql(BALANCE, {}, token)).body.data.viewer.creditBalance.total;
}

/**
 * Polls over GraphQL until the generation settles; bounded so a broken worker fails the test instead of hanging.
 * `runNow` renders it in the test's own process first (run() is idempotent: the worker skips what is claimed), so
 * tests that only need a finished generation do not wait behind the queue's backlog.
 */
async function settled(token: string, id: string, options: { runNow?: boolean } = { runNow: true }) {
  if (options.runNow) await api.services.generations.run(Buffer.from(id, 'base64').toString().split(':')[1]);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const generation = (await api.graphql(GET, { id }, token)).body.data.imageGeneration;
    if (generation.status === 'COMPLETED' || generation.status === 'FAILED') return generation;
    if (Date.now() > deadline) throw new Error(`generation ${id} still ${generation.status} after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

function download(path: string, token?: string) {
  return fetch(new URL(path, api.url), { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

describe('creating and completing a generation over HTTP', () => {
  let token: string;
  let generation: any;

  beforeAll(async () => {
    token = await user('painter');
    const created = await create(token, {
      prompt: 'a lighthouse at dusk',
      negativePrompt: 'people',
      style: 'watercolor',
      aspectRatio: '16:9',
      quality: 'STANDARD',
      count: 2,
    });
    // A worker may take it before the answer is written: queued or already rendering, never finished yet.
    expect(created).toMatchObject({ __typename: 'ImageGeneration', credits: 20, count: 2, outputs: [] });
    expect(['PENDING', 'PROCESSING']).toContain(created.status);
    generation = await settled(token, created.id, { runNow: false });
  });

  it('the job renders it: completed, timed, two PNG outputs of the requested shape', async () => {
    expect(generation).toMatchObject({
      status: 'COMPLETED',
      type: 'TEXT_TO_IMAGE',
      model: 'local-diffusion-v1',
      errorMessage: null,
      failedAt: null,
      metadata: { provider: 'local', width: 512, height: 288 },
    });
    expect(generation.processingTimeMs).toEqual(expect.any(Number));
    expect(new Date(generation.completedAt) >= new Date(generation.startedAt)).toBe(true);
    expect(generation.outputs).toHaveLength(2);
    for (const [position, output] of generation.outputs.entries()) {
      expect(output).toMatchObject({ position, width: 512, height: 288, contentType: 'image/png' });
      expect(output.sizeBytes).toBeGreaterThan(100);
    }
  });

  it('confirms the hold: one USAGE row of 20 credits, the reservation confirmed', async () => {
    const dbGeneration = await api.db.prisma.imageGeneration.findFirstOrThrow({ where: { prompt: 'a lighthouse at dusk' } });
    const rows = await api.db.prisma.creditTransaction.findMany({ where: { userId: dbGeneration.userId, kind: { in: ['USAGE', 'REFUND'] } } });
    expect(rows.map((row) => [row.kind, row.amount, row.generationId])).toEqual([['USAGE', -20, dbGeneration.id]]);
    const reservation = await api.db.prisma.creditReservation.findUniqueOrThrow({ where: { id: dbGeneration.reservationId! } });
    expect(reservation.status).toBe('CONFIRMED');
    expect(await balance(token)).toBe(80);
  });

  it('serves the PNG through the signed URL without credentials', async () => {
    const output = generation.outputs[0];
    const response = await download(output.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.length).toBe(output.sizeBytes);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const meta = await sharp(bytes).metadata();
    expect(meta).toMatchObject({ format: 'png', width: 512, height: 288 });
  });

  it('serves the file to its owner by token, and to nobody else', async () => {
    const objectId = Buffer.from(generation.outputs[0].file.id, 'base64').toString().split(':')[1];
    const own = await download(`/files/${objectId}`, token);
    expect(own.status).toBe(200);
    expect((await own.arrayBuffer()).byteLength).toBe(generation.outputs[0].sizeBytes);

    const stranger = await download(`/files/${objectId}`, await user('file-thief'));
    expect(stranger.status).toBe(404);
    expect(await stranger.text()).not.toContain('PNG');
    expect((await download(`/files/${objectId}`)).status).toBe(401);

    const signed = new URL(generation.outputs[0].url, api.url);
    signed.searchParams.set('signature', `${signed.searchParams.get('signature')!.slice(0, -2)}xx`);
    expect((await download(signed.toString())).status).toBe(403);
    const otherFile = new URL(generation.outputs[1].url, api.url);
    const borrowed = `/files/${objectId}?${otherFile.searchParams.toString()}`;
    expect((await download(borrowed)).status).toBe(403);
    const expired = new URL(generation.outputs[0].url, api.url);
    expired.searchParams.set('expires', String(Math.floor(Date.now() / 1000) - 10));
    expect((await download(expired.toString())).status).toBe(403);
  });

  it('is readable by its owner only, through imageGeneration(id) and node(id)', async () => {
    const thief = await user('generation-thief');
    expect((await api.graphql(GET, { id: generation.id }, thief)).body).toEqual({ data: { imageGeneration: null } });
    expect((await api.graphql(NODE, { id: generation.id }, thief)).body.data.node).toBeNull();
    expect((await api.graphql(NODE, { id: generation.outputs[0].file.id }, thief)).body.data.node).toBeNull();
    expect((await api.graphql(NODE, { id: generation.id }, token)).body.data.node).toEqual({ id: generation.id, status: 'COMPLETED' });
    const anonymous = await api.graphql(GET, { id: generation.id });
    expect(anonymous.body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('renders deterministically: the same request gives byte-identical images', async () => {
    const again = await settled(
      token,
      (await create(token, { prompt: 'a lighthouse at dusk', negativePrompt: 'people', style: 'watercolor', aspectRatio: '16:9', count: 1 })).id,
    );
    expect(again.outputs[0].file.checksum).toBe(generation.outputs[0].file.checksum);
    expect(generation.outputs[1].file.checksum).not.toBe(generation.outputs[0].file.checksum);
  });

  it('upscales one of its outputs to twice the size', async () => {
    const created = await create(token, { type: 'UPSCALE', prompt: 'sharper', sourceImageId: generation.outputs[0].file.id });
    expect(created.__typename).toBe('ImageGeneration');
    const upscaled = await settled(token, created.id);
    expect(upscaled.status).toBe('COMPLETED');
    expect(upscaled.outputs[0]).toMatchObject({ width: 1024, height: 576 });
  });
});

describe('cost, validation and limits', () => {
  it('charges feature cost x quality multiplier x count', async () => {
    const token = await user('hd-buyer');
    const created = await create(token, { prompt: 'mountains', quality: 'HD', count: 3 });
    expect(created.credits).toBe(10 * 2 * 3);
    expect(await balance(token)).toBe(40);
    const refused = await create(token, { prompt: 'mountains again', quality: 'HD', count: 3 });
    expect(refused).toMatchObject({ __typename: 'InsufficientCreditsError', required: 60, available: 40 });
    expect(await api.db.prisma.imageGeneration.count({ where: { prompt: 'mountains again' } })).toBe(0);
    expect(await balance(token)).toBe(40);
  });

  it('rejects what is not configured, names every problem, and changes nothing', async () => {
    const token = await user('careless');
    const refused = await create(token, { prompt: '  ', model: 'dall-e-9', style: 'cubism', aspectRatio: '7:3', count: 5 });
    expect(refused.__typename).toBe('ValidationError');
    expect(refused.issues.map((issue: { path: string }) => issue.path).sort()).toEqual(
      ['aspectRatio', 'count', 'model', 'prompt', 'style'],
    );
    const upscaleWithout = await create(token, { prompt: 'x', type: 'UPSCALE' });
    expect(upscaleWithout.issues).toEqual([{ path: 'sourceImageId', message: 'is required for UPSCALE' }]);
    expect(await api.db.prisma.imageGeneration.count({ where: { user: { externalAuthId: 'careless' } } })).toBe(0);
    expect(await balance(token)).toBe(100);
  });

  it("refuses another user's image as a source", async () => {
    const owner = await user('source-owner');
    const done = await settled(owner, (await create(owner, { prompt: 'a cat' })).id);
    const other = await user('source-borrower');
    const refused = await create(other, { prompt: 'my cat', type: 'VARIATION', sourceImageId: done.outputs[0].file.id });
    expect(refused).toMatchObject({ __typename: 'ValidationError', issues: [{ path: 'sourceImageId' }] });
  });

  it('the same idempotency key twice, even at once, gives one generation and one charge', async () => {
    const token = await user('double-clicker');
    const input = { prompt: 'a red bicycle', idempotencyKey: 'click-1' };
    const [first, second] = await Promise.all([create(token, input), create(token, input)]);
    const third = await create(token, input);
    expect(first.__typename).toBe('ImageGeneration');
    expect(new Set([first.id, second.id, third.id]).size).toBe(1);
    const userId = (await api.db.prisma.user.findUniqueOrThrow({ where: { externalAuthId: 'double-clicker' } })).id;
    expect(await api.db.prisma.imageGeneration.count({ where: { userId } })).toBe(1);
    expect(await api.db.prisma.creditTransaction.count({ where: { userId, kind: 'USAGE' } })).toBe(1);
    expect(await balance(token)).toBe(90);
  });

});

describe('listing and deleting', () => {
  it('pages newest first and stays stable while new generations arrive', async () => {
    const token = await user('lister');
    const ids: string[] = [];
    for (let index = 1; index <= 5; index++) ids.push((await create(token, { prompt: `page item ${index}` })).id);
    const newestFirst = [...ids].reverse();

    const first = (await api.graphql(LIST, { first: 2 }, token)).body.data.viewer.imageGenerations;
    expect(first.totalCount).toBe(5);
    expect(first.edges.map((edge: any) => edge.node.id)).toEqual(newestFirst.slice(0, 2));

    for (let index = 6; index <= 8; index++) await create(token, { prompt: `page item ${index}` });

    const second = (await api.graphql(LIST, { first: 2, after: first.pageInfo.endCursor }, token)).body.data.viewer.imageGenerations;
    expect(second.totalCount).toBe(8);
    expect(second.edges.map((edge: any) => edge.node.id)).toEqual(newestFirst.slice(2, 4));
    const third = (await api.graphql(LIST, { first: 2, after: second.pageInfo.endCursor }, token)).body.data.viewer.imageGenerations;
    expect(third.edges.map((edge: any) => edge.node.id)).toEqual(newestFirst.slice(4, 5));
    expect(third.pageInfo.hasNextPage).toBe(false);

    const garbage = await api.graphql(LIST, { first: 2, after: 'not-a-cursor' }, token);
    expect(garbage.body.errors?.length).toBeGreaterThan(0);
  });

  it('filters by status, type and time window', async () => {
    const token = await user('filterer');
    const done = await settled(token, (await create(token, { prompt: 'filter base' })).id);
    await create(token, { prompt: 'filter upscale', type: 'UPSCALE', sourceImageId: done.outputs[0].file.id });
    const upscales = (await api.graphql(LIST, { type: 'UPSCALE' }, token)).body.data.viewer.imageGenerations;
    expect(upscales.edges.map((edge: any) => edge.node.prompt)).toEqual(['filter upscale']);
    const completed = (await api.graphql(LIST, { status: 'COMPLETED', type: 'TEXT_TO_IMAGE' }, token)).body.data.viewer.imageGenerations;
    expect(completed.edges.map((edge: any) => edge.node.prompt)).toEqual(['filter base']);
    const future = (await api.graphql(LIST, { from: new Date(Date.now() + 3_600_000).toISOString() }, token)).body.data.viewer.imageGenerations;
    expect(future.totalCount).toBe(0);
    const past = (await api.graphql(LIST, { to: done.createdAt }, token)).body.data.viewer.imageGenerations;
    expect(past.totalCount).toBe(0);
  });

  it('soft delete hides the generation and its files at once, everywhere', async () => {
    const token = await user('deleter');
    const kept = await settled(token, (await create(token, { prompt: 'keep me' })).id);
    const doomed = await settled(token, (await create(token, { prompt: 'delete me' })).id);
    const usage = `query { viewer { storageUsedBytes storageObjects(first: 10) { totalCount edges { node { id } } } } }`;
    const before = (await api.graphql(usage, {}, token)).body.data.viewer;
    expect(before.storageObjects.totalCount).toBe(2);
    expect(before.storageUsedBytes).toBe(kept.outputs[0].sizeBytes + doomed.outputs[0].sizeBytes);

    const thief = await user('deleter-thief');
    const foreign = await api.graphql(
      `mutation($id: ID!) { deleteImageGeneration(id: $id) { __typename } }`,
      { id: doomed.id },
      thief,
    );
    expect(foreign.body.data.deleteImageGeneration.__typename).toBe('NotFoundError');

    const deleted = await api.graphql(
      `mutation($id: ID!) { deleteImageGeneration(id: $id) { __typename ... on Deletion { id deletedAt } } }`,
      { id: doomed.id },
      token,
    );
    expect(deleted.body.data.deleteImageGeneration).toMatchObject({ __typename: 'Deletion', id: doomed.id });

    expect((await api.graphql(GET, { id: doomed.id }, token)).body.data.imageGeneration).toBeNull();
    expect((await api.graphql(NODE, { id: doomed.id }, token)).body.data.node).toBeNull();
    const list = (await api.graphql(LIST, {}, token)).body.data.viewer.imageGenerations;
    expect(list.edges.map((edge: any) => edge.node.id)).toEqual([kept.id]);
    expect(list.totalCount).toBe(1);
    expect((await download(doomed.outputs[0].url)).status).toBe(404);
    const after = (await api.graphql(usage, {}, token)).body.data.viewer;
    expect(after.storageObjects.totalCount).toBe(1);
    expect(after.storageUsedBytes).toBe(kept.outputs[0].sizeBytes);

    const again = await api.graphql(`mutation($id: ID!) { deleteImageGeneration(id: $id) { __typename } }`, { id: doomed.id }, token);
    expect(again.body.data.deleteImageGeneration.__typename).toBe('NotFoundError');
  });

  it('deleteStorageObject hides one file and removes it from its generation', async () => {
    const token = await user('file-deleter');
    const done = await settled(token, (await create(token, { prompt: 'two files', count: 2 })).id);
    const fileId = done.outputs[1].file.id;
    const thief = await user('file-deleter-thief');
    const foreign = await api.graphql(`mutation($id: ID!) { deleteStorageObject(id: $id) { __typename } }`, { id: fileId }, thief);
    expect(foreign.body.data.deleteStorageObject.__typename).toBe('NotFoundError');
    const deleted = await api.graphql(`mutation($id: ID!) { deleteStorageObject(id: $id) { __typename } }`, { id: fileId }, token);
    expect(deleted.body.data.deleteStorageObject.__typename).toBe('Deletion');
    const generation = (await api.graphql(GET, { id: done.id }, token)).body.data.imageGeneration;
    expect(generation.outputs.map((output: any) => output.position)).toEqual([0]);
    expect((await download(done.outputs[1].url)).status).toBe(404);
  });

  it("an admin lists other users' generations through users; a user cannot", async () => {
    const admin = await api.token('generations-admin', { email: 'admin@example.com' });
    const query = `query { users(first: 5) { edges { node { imageGenerations { totalCount } } } } }`;
    const response = await api.graphql(query, {}, admin);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.users.edges.some((edge: any) => edge.node.imageGenerations.totalCount > 0)).toBe(true);
    const token = await user('generations-snoop');
    expect((await api.graphql(query, {}, token)).body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});

describe('rate limiting', () => {
  it('answers RateLimitedError once a user exceeds the per-minute limit', async () => {
    const token = await user('spammer');
    const answers: string[] = [];
    for (let index = 0; index < 21; index++) {
      answers.push((await create(token, { prompt: `spam ${index}`, quality: 'HD', count: 4 })).__typename);
    }
    expect(answers[0]).toBe('ImageGeneration');
    expect(answers.slice(1, 20).every((name) => name === 'InsufficientCreditsError')).toBe(true);
    expect(answers[20]).toBe('RateLimitedError');
  });
});

describe('with more simultaneous requests than database connections', () => {
  it('every createImageGeneration goes through: no transaction waits for a second connection', async () => {
    const crowded = await startTestApp({ DATABASE_POOL_SIZE: '3', CREDITS_FREE_ALLOWANCE: '100', STORAGE_LOCAL_DIR: storageDir });
    try {
      const tokens: string[] = [];
      for (let i = 0; i < 12; i++) {
        tokens.push(await crowded.token(`crowd-${i}`));
        await crowded.graphql(`query { viewer { id } }`, {}, tokens[i]);
      }
      const answers = await Promise.all(
        tokens.map((token) =>
          crowded.graphql(`mutation($input: CreateImageGenerationInput!) { createImageGeneration(input: $input) { __typename } }`, {
            input: { prompt: 'a crowd at a concert' },
          }, token),
        ),
      );
      expect(answers.map((answer) => answer.body.data?.createImageGeneration?.__typename ?? answer.body.errors?.[0]?.message)).toEqual(
        tokens.map(() => 'ImageGeneration'),
      );
      expect(await crowded.db.prisma.imageGeneration.count()).toBe(12);
    } finally {
      await crowded.close();
    }
  });
});
