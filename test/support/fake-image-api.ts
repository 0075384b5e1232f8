import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

export interface RecordedImageRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
}

export interface FakeReply {
  status: number;
  json?: unknown;
  headers?: Record<string, string>;
  /** Resolve to send the reply; lets a test hold a request open. */
  wait?: Promise<unknown>;
}

export interface FakeImageApi {
  url: string;
  requests: RecordedImageRequest[];
  /** Decides each reply; the default answers with `n` solid PNGs in OpenAI's b64_json shape. */
  handler: (request: RecordedImageRequest) => FakeReply | Promise<FakeReply>;
  close(): Promise<void>;
}

export async function solidPng(width: number, height: number, color = { r: 200, g: 40, b: 90 }): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: color } }).png().toBuffer();
}

export async function b64Images(body: any): Promise<FakeReply> {
  const [width, height] = String(body?.size ?? '64x64').split('x').map(Number);
  const images = await Promise.all(Array.from({ length: Number(body?.n ?? 1) }, () => solidPng(width, height)));
  return { status: 200, json: { created: 1, data: images.map((image) => ({ b64_json: image.toString('base64') })) } };
}

/** A stand-in for an OpenAI-compatible images endpoint on 127.0.0.1. */
export async function startFakeImageApi(): Promise<FakeImageApi> {
  const fake: FakeImageApi = {
    url: '',
    requests: [],
    handler: (request) => b64Images(request.body),
    close: async () => {},
  };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: any = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // multipart or empty: kept as text
    }
    const recorded = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body };
    fake.requests.push(recorded);
    try {
      const reply = await fake.handler(recorded);
      await reply.wait;
      res.writeHead(reply.status, { 'content-type': 'application/json', ...(reply.headers ?? {}) });
      res.end(reply.json === undefined ? '' : JSON.stringify(reply.json));
    } catch (error) {
      if (!res.headersSent) res.writeHead(599);
      res.end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/images/generations`;
  fake.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
