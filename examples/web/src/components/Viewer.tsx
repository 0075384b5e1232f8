'use client';

import Link from 'next/link';
import { createContext, useCallback, useContext, type ReactNode } from 'react';
import { useQuery, type CombinedError } from 'urql';
import type { ViewerQuery as ViewerData } from '@/gql/graphql';
import { ViewerQuery } from '@/lib/documents';

type Viewer = NonNullable<ViewerData['viewer']>;

const ViewerContext = createContext<{ viewer: Viewer; refresh: () => void } | null>(null);

export function useViewer() {
  const value = useContext(ViewerContext);
  if (!value) throw new Error('useViewer outside <RequireViewer>');
  return value;
}

export function errorCode(error: CombinedError | undefined): string | undefined {
  return error?.graphQLErrors.find((item) => item.extensions?.code)?.extensions.code as string | undefined;
}

/** Renders its children for a signed-in viewer; otherwise says why not (signed out, banned, API unreachable). */
export function RequireViewer({ children, admin = false }: { children: ReactNode; admin?: boolean }) {
  const [{ data, error, fetching }, reexecute] = useQuery({ query: ViewerQuery });
  const refresh = useCallback(() => reexecute({ requestPolicy: 'network-only' }), [reexecute]);
  if (errorCode(error) === 'ACCOUNT_BANNED') {
    return (
      <section className="panel locked" role="alert">
        <h1>Account locked</h1>
        <p>This account has been banned. Contact support if you think this is a mistake.</p>
        <SignOutButton />
      </section>
    );
  }
  if (errorCode(error) === 'UNAUTHENTICATED') return <SignedOut message="Your session has expired." />;
  if (error && !data) return <p className="error" role="alert">The API could not be reached: {error.message}</p>;
  if (fetching && !data) return <p className="muted">Loading…</p>;
  if (!data?.viewer) return <SignedOut />;
  if (admin && data.viewer.role !== 'ADMIN') return <p className="error">This page is for admins.</p>;
  return <ViewerContext.Provider value={{ viewer: data.viewer, refresh }}>{children}</ViewerContext.Provider>;
}

function SignedOut({ message }: { message?: string }) {
  return (
    <section className="panel">
      <p>{message ?? 'You are signed out.'}</p>
      <Link className="button" href="/sign-in">
        Sign in
      </Link>
    </section>
  );
}

export function SignOutButton() {
  return (
    <form action="/api/sign-out" method="post">
      <button type="submit" className="link-button">
        Sign out
      </button>
    </form>
  );
}
