import type { NextRequest } from 'next/server';
import { bearerFor } from '@/lib/bearer';
import { apiUrl } from '@/lib/server-config';

/** Forwards the browser's GraphQL requests to the API with the session's token, which never reaches client code. */
export async function POST(request: NextRequest) {
  const token = await bearerFor(request);
  const upstream = await fetch(`${apiUrl()}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: request.headers.get('accept') ?? 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: await request.text(),
    cache: 'no-store',
  });
  return new Response(upstream.body, {
    status: upstream.status,
    headers: {
      'content-type': upstream.headers.get('content-type') ?? 'application/json',
      'x-request-id': upstream.headers.get('x-request-id') ?? '',
    },
  });
}
