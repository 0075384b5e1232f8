import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { StorageObject, StorageProvider } from '../generated/prisma/client.js';
import type { Config } from '../config.js';
import type { Db, DbOrTx } from '../db/client.js';
import type { Logger } from '../logger.js';
import { AuthenticationError, ForbiddenError, NotFoundError } from './errors.js';
import { isUuid } from './ids.js';
import { StorageObjectMissingError, type StorageBackend } from './storage/backend.js';
import { LocalDiskStorage } from './storage/local.js';
import { S3Storage } from './storage/s3.js';

export interface StorageConfig {
  signingSecret: string;
  signedUrlTtlSeconds: number;
  retentionDays: number;
  /** Absolute base for signed URLs; relative URLs (`/files/...`) when unset. */
  publicUrl?: string;
}

export interface StorageServiceDeps {
  prisma: Db;
  log: Logger;
  backend: StorageBackend;
  config: StorageConfig;
  now?: () => Date;
}

/** Bytes written to the backend, not yet recorded as a StorageObject row. */
export interface StoredFile {
  provider: StorageProvider;
  key: string;
  name: string;
  contentType: string;
  sizeBytes: number;
  checksum: string;
}

/** How a download request proves it may read the file: the signed-in viewer, or a signed URL's query. */
export interface DownloadAccess {
  viewerId: string | null;
  expires?: string;
  signature?: string;
}

const EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp' };
const PURGE_BATCH = 100;

export function createStorageBackend(config: Config['storage']): StorageBackend {
  if (config.provider === 's3') {
    const { endpoint, region, bucket, accessKeyId, secretAccessKey } = config.s3;
    // loadConfig already refuses s3 without these.
    return new S3Storage({ endpoint, region, bucket: bucket!, accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey! });
  }
  return new LocalDiskStorage(config.localDir);
}

/**
 * Files users own: bytes in the configured backend, one StorageObject row each. Downloads go through `/files/<id>`,
 * for the owner or for anyone holding a short-lived signed URL. Deleting hides a file at once; its bytes are purged
 * after the retention period.
 */
export class StorageService {
  private readonly now: () => Date;

  constructor(private readonly deps: StorageServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  get provider(): StorageProvider {
    return this.deps.backend.provider;
  }

  // ------------------------------------------------------------------ writing

  async write(userId: string, file: { name: string; contentType: string; data: Buffer }): Promise<StoredFile> {
    const now = this.now();
    const extension = EXTENSIONS[file.contentType] ?? 'bin';
    const month = `${now.getUTCFullYear()}/${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
    const key = `users/${userId}/${month}/${randomUUID()}.${extension}`;
    await this.deps.backend.put(key, file.data, file.contentType);
    return {
      provider: this.deps.backend.provider,
      key,
      name: file.name,
      contentType: file.contentType,
      sizeBytes: file.data.length,
      checksum: createHash('sha256').update(file.data).digest('hex'),
    };
  }

  /** Records written bytes; runs in the caller's transaction so the row appears with whatever links to it. */
  record(db: DbOrTx, userId: string, file: StoredFile, options: { deletedAt?: Date | null } = {}): Promise<StorageObject> {
    return db.storageObject.create({ data: { userId, ...file, deletedAt: options.deletedAt ?? null } });
  }

  /** Best-effort removal of bytes whose rows were never written (a failed transaction). */
  async discard(files: StoredFile[]): Promise<void> {
    for (const file of files) {
      await this.deps.backend.delete(file.key).catch((error) => {
        this.deps.log.warn({ err: error, key: file.key }, 'could not remove an unrecorded file');
      });
    }
  }

  // ------------------------------------------------------------------ reading

  findOwned(userId: string, objectId: string): Promise<StorageObject | null> {
    if (!isUuid(objectId)) return Promise.resolve(null);
    return this.deps.prisma.storageObject.findFirst({ where: { id: objectId, userId, deletedAt: null } });
  }

  async readBytes(object: Pick<StorageObject, 'key'>): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.deps.backend.get(object.key)) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
  }

  private sign(objectId: string, expires: number): string {
    return createHmac('sha256', this.deps.config.signingSecret).update(`${objectId}:${expires}`).digest('base64url');
  }

  /** A URL anyone can download the file with until it expires (STORAGE_SIGNED_URL_TTL_SECONDS). */
  signedUrl(object: Pick<StorageObject, 'id' | 'name'>): string {
    const expires = Math.floor(this.now().getTime() / 1000) + this.deps.config.signedUrlTtlSeconds;
    const path = `/files/${object.id}/${encodeURIComponent(object.name)}?expires=${expires}&signature=${this.sign(object.id, expires)}`;
    return `${(this.deps.config.publicUrl ?? '').replace(/\/$/, '')}${path}`;
  }

  private checkSignature(objectId: string, expires: string | undefined, signature: string | undefined): void {
    const at = Number(expires);
    if (!Number.isInteger(at) || !signature) throw new ForbiddenError('The file link is not valid');
    const expected = Buffer.from(this.sign(objectId, at));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw new ForbiddenError('The file link is not valid');
    }
    if (at * 1000 <= this.now().getTime()) throw new ForbiddenError('The file link has expired');
  }

  /**
   * Opens a file for download. A valid signed URL is enough on its own; otherwise only the owner may read it, and
   * anyone else is told it does not exist. Deleted files are gone for everyone, signed URL or not.
   */
  async open(objectId: string, access: DownloadAccess): Promise<{ object: StorageObject; body: Readable }> {
    const signed = access.signature !== undefined || access.expires !== undefined;
    if (!signed && !access.viewerId) throw new AuthenticationError('Sign in or use a signed link to download this file');
    if (!isUuid(objectId)) throw new NotFoundError('File', objectId);
    if (signed) this.checkSignature(objectId, access.expires, access.signature);
    const object = await this.deps.prisma.storageObject.findFirst({
      where: { id: objectId, deletedAt: null, ...(signed ? {} : { userId: access.viewerId! }) },
    });
    if (!object) throw new NotFoundError('File', objectId);
    try {
      return { object, body: await this.deps.backend.get(object.key) };
    } catch (error) {
      if (error instanceof StorageObjectMissingError) {
        this.deps.log.error({ objectId, key: object.key }, 'a recorded file has no bytes in storage');
        throw new NotFoundError('File', objectId);
      }
      throw error;
    }
  }

  /** Bytes each user stores, deleted files excluded, in one query. */
  async usedBytes(userIds: readonly string[]): Promise<Map<string, number>> {
    const rows = await this.deps.prisma.storageObject.groupBy({
      by: ['userId'],
      where: { userId: { in: [...userIds] }, deletedAt: null },
      _sum: { sizeBytes: true },
    });
    return new Map(rows.map((row) => [row.userId, row._sum.sizeBytes ?? 0]));
  }

  // ------------------------------------------------------------------ deleting

  async softDelete(userId: string, objectId: string): Promise<{ id: string; deletedAt: Date }> {
    const deletedAt = this.now();
    const { count } = isUuid(objectId)
      ? await this.deps.prisma.storageObject.updateMany({
          where: { id: objectId, userId, deletedAt: null },
          data: { deletedAt },
        })
      : { count: 0 };
    if (count === 0) throw new NotFoundError('StorageObject', objectId);
    return { id: objectId, deletedAt };
  }

  /** Removes the bytes of files deleted longer ago than the retention period; the rows stay, marked purged. */
  async purgeDeleted(): Promise<number> {
    const cutoff = new Date(this.now().getTime() - this.deps.config.retentionDays * 86_400_000);
    let purged = 0;
    for (;;) {
      const due = await this.deps.prisma.storageObject.findMany({
        where: { deletedAt: { lte: cutoff }, purgedAt: null },
        select: { id: true, key: true },
        orderBy: { deletedAt: 'asc' },
        take: PURGE_BATCH,
      });
      for (const object of due) {
        await this.deps.backend.delete(object.key);
        await this.deps.prisma.storageObject.update({ where: { id: object.id }, data: { purgedAt: this.now() } });
        purged++;
      }
      if (due.length < PURGE_BATCH) return purged;
    }
  }

  async close(): Promise<void> {
    if (this.deps.backend instanceof S3Storage) this.deps.backend.close();
  }
}
