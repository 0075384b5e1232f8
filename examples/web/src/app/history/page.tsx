'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import { useClient } from 'urql';
import { GenerationCard } from '@/components/GenerationCard';
import { RequireViewer } from '@/components/Viewer';
import type { GenerationFieldsFragment, GenerationStatus, GenerationType } from '@/gql/graphql';
import { HistoryQuery } from '@/lib/documents';

const PAGE = 12;
const STATUSES: GenerationStatus[] = ['COMPLETED', 'PROCESSING', 'PENDING', 'FAILED'];
const TYPES: GenerationType[] = ['TEXT_TO_IMAGE', 'IMAGE_TO_IMAGE', 'UPSCALE', 'VARIATION'];
const PERIODS = { all: null, day: 1, week: 7, month: 30 } as const;

export default function HistoryPage() {
  return (
    <RequireViewer>
      <History />
    </RequireViewer>
  );
}

interface Filters {
  status: GenerationStatus | '';
  type: GenerationType | '';
  period: keyof typeof PERIODS;
}

function History() {
  const client = useClient();
  const [filters, setFilters] = useState<Filters>({ status: '', type: '', period: 'all' });
  const [items, setItems] = useState<GenerationFieldsFragment[]>([]);
  const [page, setPage] = useState<{ cursor: string | null; more: boolean; total: number | null }>({ cursor: null, more: false, total: null });
  const [loading, setLoading] = useState(false);
  const sentinel = useRef<HTMLDivElement>(null);
  // Which filter set the newest request belongs to, and whether a next page is already on its way.
  const run = useRef(0);
  const inFlight = useRef(false);

  const load = useCallback(
    async (after: string | null) => {
      const mine = after === null ? ++run.current : run.current;
      if (after !== null && inFlight.current) return;
      inFlight.current = true;
      setLoading(true);
      const days = PERIODS[filters.period];
      const result = await client
        .query(
          HistoryQuery,
          {
            first: PAGE,
            after,
            status: filters.status || null,
            type: filters.type || null,
            from: days ? new Date(Date.now() - days * 86_400_000).toISOString() : null,
          },
          { requestPolicy: 'network-only' },
        )
        .toPromise();
      if (mine !== run.current) return;
      inFlight.current = false;
      setLoading(false);
      const connection = result.data?.viewer?.imageGenerations;
      if (!connection) return;
      setItems((previous) => [...(after === null ? [] : previous), ...connection.edges.map((edge) => edge.node)]);
      setPage({ cursor: connection.pageInfo.endCursor ?? null, more: connection.pageInfo.hasNextPage, total: connection.totalCount });
    },
    [client, filters],
  );

  // A filter change starts over from the first page.
  useEffect(() => {
    setPage({ cursor: null, more: false, total: null });
    void load(null);
  }, [load]);

  // The next page loads when the end of the list scrolls into view.
  useEffect(() => {
    const element = sentinel.current;
    if (!element || !page.more || !page.cursor) return;
    const cursor = page.cursor;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) void load(cursor);
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [load, page.more, page.cursor]);

  return (
    <>
      <h1>History</h1>
      <form className="row panel" aria-label="Filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          <span>Status</span>
          <select value={filters.status} onChange={(event) => setFilters({ ...filters, status: event.target.value as Filters['status'] })}>
            <option value="">any</option>
            {STATUSES.map((status) => (
              <option key={status} value={status}>
                {status.toLowerCase()}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>Type</span>
          <select value={filters.type} onChange={(event) => setFilters({ ...filters, type: event.target.value as Filters['type'] })}>
            <option value="">any</option>
            {TYPES.map((type) => (
              <option key={type} value={type}>
                {type.toLowerCase().replaceAll('_', ' ')}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>Created</span>
          <select value={filters.period} onChange={(event) => setFilters({ ...filters, period: event.target.value as Filters['period'] })}>
            <option value="all">any time</option>
            <option value="day">last 24 hours</option>
            <option value="week">last 7 days</option>
            <option value="month">last 30 days</option>
          </select>
        </label>
      </form>
      {page.total !== null && <p className="muted" data-testid="history-count">{page.total} generation{page.total === 1 ? '' : 's'}</p>}
      <section className="gallery">
        {items.map((item) => (
          <GenerationCard key={item.id} generation={item} />
        ))}
      </section>
      <div ref={sentinel} aria-hidden />
      {loading && <p className="muted">Loading…</p>}
      {!loading && page.total === 0 && <p>No generations match.</p>}
    </>
  );
}
