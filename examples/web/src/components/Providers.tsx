'use client';

import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { Client, Provider, cacheExchange, fetchExchange } from 'urql';

/** One urql client per browser tab, talking to this app's /api/graphql proxy. Rendered in the browser only. */
export function Providers({ children }: { children: ReactNode }) {
  const [mounted, setMounted] = useState(false);
  const client = useMemo(
    () =>
      new Client({
        url: '/api/graphql',
        exchanges: [cacheExchange, fetchExchange],
        requestPolicy: 'cache-and-network',
        // The proxy route takes POST only; queries go the same way as mutations.
        preferGetMethod: false,
      }),
    [],
  );
  useEffect(() => setMounted(true), []);
  if (!mounted) return <p className="muted">Loading…</p>;
  return <Provider value={client}>{children}</Provider>;
}
