import type { S3Client } from '@aws-sdk/client-s3';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { StorageObjectMissingError, type StorageBackend } from './backend.js';

export interface S3StorageOptions {
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

type S3Sdk = typeof import('@aws-sdk/client-s3');
// The SDK takes a good part of a second to load: only a server configured for S3 loads it.
const loadSdk = (): S3Sdk => createRequire(import.meta.url)('@aws-sdk/client-s3') as S3Sdk;

/** Any S3-compatible service (AWS S3, MinIO, R2, ...). A custom endpoint is addressed path-style. */
export class S3Storage implements StorageBackend {
  readonly provider = 'S3' as const;
  private readonly client: S3Client;
  private readonly sdk: S3Sdk = loadSdk();

  constructor(private readonly options: S3StorageOptions) {
    this.client = new this.sdk.S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: Boolean(options.endpoint),
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      // Several S3-compatible services reject the SDK's default extra checksums; send them only where S3 requires them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
    });
  }

  async put(key: string, data: Buffer, contentType: string): Promise<void> {
    await this.client.send(
      new this.sdk.PutObjectCommand({
        Bucket: this.options.bucket,
        Key: key,
        Body: data,
        ContentType: contentType,
        ContentLength: data.length,
      }),
    );
  }

  async get(key: string): Promise<Readable> {
    try {
      const result = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      if (!(result.Body instanceof Readable)) throw new Error('The S3 response has no readable body');
      return result.Body;
    } catch (error) {
      if (error instanceof this.sdk.NoSuchKey || (error instanceof this.sdk.S3ServiceException && error.$metadata.httpStatusCode === 404)) {
        throw new StorageObjectMissingError(key);
      }
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.options.bucket, Key: key }));
  }

  close() {
    this.client.destroy();
  }
}
