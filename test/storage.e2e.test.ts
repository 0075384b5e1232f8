import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { startFakeS3, type FakeS3 } from './support/fake-s3.js';
import { startTestApp, type TestApp } from './support/app.js';

const run = promisify(execFile);

const CREATE = `mutation($input: CreateImageGenerationInput!) {
  createImageGeneration(input: $input) { __typename ... on ImageGeneration { id } }
}`;
const GET = `query($id: ID!) { imageGeneration(id: $id) { status outputs { url sizeBytes file { id provider checksum } } } }`;
const DELETE_GENERATION = `mutation($id: ID!) { deleteImageGeneration(id: $id) { __typename } }`;

const rawId = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1];

async function generate(api: TestApp, token: string, prompt: string) {
  const created = (await api.graphql(CREATE, { input: { prompt } }, token)).body.data.createImageGeneration;
  expect(created.__typename).toBe('ImageGeneration');
  await api.services.generations.run(rawId(created.id));
  const generation = (await api.graphql(GET, { id: created.id }, token)).body.data.imageGeneration;
  expect(generation.status).toBe('COMPLETED');
  return { id: created.id as string, ...generation };
}

describe('S3-compatible storage', () => {
  let api: TestApp;
  let s3: FakeS3;

  beforeAll(async () => {
    s3 = await startFakeS3();
    api = await startTestApp({
      STORAGE_PROVIDER: 's3',
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: 'images',
      S3_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      S3_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      S3_REGION: 'eu-west-1',
      STORAGE_RETENTION_DAYS: '0',
    });
  });
  afterAll(async () => {
    await api.close();
    await s3.close();
  });

  it('stores outputs in the bucket with signed requests and streams them back through /files', async () => {
    const token = await api.token('s3-user');
    const generation = await generate(api, token, 'a harbour in fog');
    const [output] = generation.outputs;
    expect(output.file.provider).toBe('S3');

    const object = await api.db.prisma.storageObject.findUniqueOrThrow({ where: { id: rawId(output.file.id) } });
    const put = s3.requests.find((request) => request.method === 'PUT');
    expect(put?.path).toBe(`/images/${object.key}`);
    expect(put?.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/s3\/aws4_request/);
    const stored = s3.objects.get(`/images/${object.key}`)!;
    expect(stored.contentType).toBe('image/png');

    const response = await fetch(new URL(output.url, api.url));
    expect(response.status).toBe(200);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.equals(stored.body)).toBe(true);
    expect((await sharp(bytes).metadata()).format).toBe('png');
  });

  it('a deleted file disappears at once and its object is removed from the bucket by maintenance', async () => {
    const token = await api.token('s3-deleter');
    const generation = await generate(api, token, 'a lantern');
    const object = await api.db.prisma.storageObject.findUniqueOrThrow({ where: { id: rawId(generation.outputs[0].file.id) } });
    expect((await api.graphql(DELETE_GENERATION, { id: generation.id }, token)).body.data.deleteImageGeneration.__typename).toBe('Deletion');
    expect((await fetch(new URL(generation.outputs[0].url, api.url))).status).toBe(404);
    expect(s3.objects.has(`/images/${object.key}`)).toBe(true);

    const report = await api.services.maintenance.run();
    expect(report.storageObjectsPurged).toBe(1);
    expect(s3.objects.has(`/images/${object.key}`)).toBe(false);
    expect(s3.requests.some((request) => request.method === 'DELETE' && request.path === `/images/${object.key}`)).toBe(true);
    expect((await api.db.prisma.storageObject.findUniqueOrThrow({ where: { id: object.id } })).purgedAt).not.toBeNull();
  });

  it('answers 404, not an error, when a recorded file is missing from the bucket', async () => {
    const token = await api.token('s3-missing');
    const generation = await generate(api, token, 'a vanished print');
    s3.objects.clear();
    const response = await fetch(new URL(generation.outputs[0].url, api.url));
    expect(response.status).toBe(404);
  });
});

describe('maintenance', () => {
  let api: TestApp;
  let storageDir: string;
  const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000);

  beforeAll(async () => {
    storageDir = await mkdtemp(join(tmpdir(), 'maintenance-test-'));
    api = await startTestApp({
      STORAGE_LOCAL_DIR: storageDir,
      STORAGE_RETENTION_DAYS: '30',
      GENERATION_FAILED_RETENTION_DAYS: '30',
      CREDITS_FREE_ALLOWANCE: '50',
    });
  });
  afterAll(async () => {
    await api.close();
    await rm(storageDir, { recursive: true, force: true });
  });

  async function pngFiles() {
    return (await readdir(storageDir, { recursive: true })).filter((file) => String(file).endsWith('.png')).length;
  }

  it('removes old failed generations, purges files deleted past retention, expires ended subscriptions; then does nothing', async () => {
    const token = await api.token('maintained');
    await api.graphql(`query { viewer { id } }`, {}, token);
    const user = await api.db.prisma.user.findUniqueOrThrow({ where: { externalAuthId: 'maintained' } });
    const { prisma } = api.db;

    // Failed generations: one past retention, one recent.
    const oldFailed = await generate(api, token, 'old failure');
    const recentFailed = await generate(api, token, 'recent failure');
    await prisma.imageGeneration.update({ where: { id: rawId(oldFailed.id) }, data: { status: 'FAILED', failedAt: daysAgo(31) } });
    await prisma.imageGeneration.update({ where: { id: rawId(recentFailed.id) }, data: { status: 'FAILED', failedAt: daysAgo(2) } });

    // Deleted files: one past retention, one deleted yesterday.
    const oldDeleted = await generate(api, token, 'deleted long ago');
    const newDeleted = await generate(api, token, 'deleted yesterday');
    await api.graphql(DELETE_GENERATION, { id: oldDeleted.id }, token);
    await api.graphql(DELETE_GENERATION, { id: newDeleted.id }, token);
    await prisma.storageObject.update({ where: { id: rawId(oldDeleted.outputs[0].file.id) }, data: { deletedAt: daysAgo(31) } });
    await prisma.storageObject.update({ where: { id: rawId(newDeleted.outputs[0].file.id) }, data: { deletedAt: daysAgo(1) } });
    const filesBefore = await pngFiles();

    // Subscriptions: an ended one set to cancel (a PREMIUM user), an admin's, and ones that must stay.
    const subscriber = await api.services.users.createUser({ email: 'lapsed@example.com', role: 'PREMIUM' });
    const admin = await api.services.users.createUser({ email: 'lapsed-admin@example.com', role: 'ADMIN' });
    const renewing = await api.services.users.createUser({ email: 'renewing@example.com', role: 'PREMIUM' });
    for (const person of [subscriber, admin, renewing]) {
      await prisma.user.update({ where: { id: person.id }, data: { tier: 'PRO', membershipStatus: 'ACTIVE' } });
    }
    const subscription = (userId: string, id: string, fields: Record<string, unknown>) =>
      prisma.subscription.create({
        data: {
          stripeSubscriptionId: id,
          stripeCustomerId: `cus_${id}`,
          userId,
          status: 'ACTIVE',
          currentPeriodStart: daysAgo(31),
          currentPeriodEnd: daysAgo(1),
          cancelAtPeriodEnd: true,
          ...fields,
        },
      });
    const lapsed = await subscription(subscriber.id, 'sub_lapsed', {});
    await subscription(admin.id, 'sub_admin', { status: 'PAST_DUE' });
    await subscription(renewing.id, 'sub_renews', { cancelAtPeriodEnd: false });
    await subscription(renewing.id, 'sub_future', { currentPeriodEnd: daysAgo(-5) });

    const report = await api.services.maintenance.run();
    expect(report).toEqual({ failedGenerationsRemoved: 1, storageObjectsPurged: 1, subscriptionsExpired: 2 });

    expect(await prisma.imageGeneration.findUnique({ where: { id: rawId(oldFailed.id) } })).toBeNull();
    expect(await prisma.imageGeneration.findUnique({ where: { id: rawId(recentFailed.id) } })).not.toBeNull();
    expect(await prisma.creditTransaction.count({ where: { userId: user.id, kind: 'USAGE' } })).toBe(4);
    expect(await pngFiles()).toBe(filesBefore - 1);
    expect((await prisma.storageObject.findUniqueOrThrow({ where: { id: rawId(newDeleted.outputs[0].file.id) } })).purgedAt).toBeNull();

    expect(await prisma.subscription.findUniqueOrThrow({ where: { id: lapsed.id } })).toMatchObject({
      status: 'CANCELED',
      endedAt: lapsed.currentPeriodEnd,
    });
    expect(await prisma.user.findUniqueOrThrow({ where: { id: subscriber.id } })).toMatchObject({
      tier: 'FREE',
      membershipStatus: 'CANCELED',
      role: 'USER',
    });
    expect(await prisma.user.findUniqueOrThrow({ where: { id: admin.id } })).toMatchObject({ tier: 'FREE', role: 'ADMIN' });
    expect(await prisma.user.findUniqueOrThrow({ where: { id: renewing.id } })).toMatchObject({ tier: 'PRO', role: 'PREMIUM' });
    expect((await prisma.subscription.findMany({ where: { userId: renewing.id } })).map((row) => row.status)).toEqual([
      'ACTIVE',
      'ACTIVE',
    ]);
    expect(await prisma.creditBalance.findUniqueOrThrow({ where: { userId: subscriber.id } })).toMatchObject({
      allowanceTotal: 50,
      allowanceRemaining: 50,
    });
    expect(
      await prisma.subscriptionEvent.findMany({
        where: { subscriptionId: lapsed.id },
        select: { type: true, fromStatus: true, toStatus: true },
        orderBy: { type: 'asc' },
      }),
    ).toEqual([
      { type: 'entitlement_changed', fromStatus: 'ACTIVE', toStatus: 'CANCELED' },
      { type: 'subscription.period_ended', fromStatus: 'ACTIVE', toStatus: 'CANCELED' },
    ]);
    expect(await api.services.credits.reconcile()).toEqual([]);

    expect(await api.services.maintenance.run()).toEqual({
      failedGenerationsRemoved: 0,
      storageObjectsPurged: 0,
      subscriptionsExpired: 0,
    });
  });

  it('`npm run maintenance` prints the counts', async () => {
    const { stdout } = await run('npx', ['tsx', 'scripts/maintenance.ts'], {
      env: { ...process.env, DATABASE_URL: api.db.url, STORAGE_LOCAL_DIR: storageDir, LOG_LEVEL: 'silent' },
    });
    expect(stdout).toContain('Failed generations removed: 0');
    expect(stdout).toContain('Deleted files purged:       0');
    expect(stdout).toContain('Subscriptions expired:      0');
  });
});
