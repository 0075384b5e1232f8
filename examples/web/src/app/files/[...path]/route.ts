import type { NextRequest } from 'next/server';
import { apiUrl } from '@/lib/server-config';

/** Generated images: the API answers `/files/...` signed URLs; they are served from this origin unchanged. */
export async function GET(request: NextRequest) {
  const upstream = await fetch(`${apiUrl()}${request.nextUrl.pathname}${request.nextUrl.search}`, { cache: 'no-store' });
  const headers = new Headers();
  for (const name of ['content-type', 'content-length', 'cache-control', 'etag', 'last-modified']) {
    const value = upstream.headers.get(name);
    if (value) headers.set(name, value);
  }
  return new Response(upstream.body, { status: upstream.status, headers });
}
