'use client';

import Link from 'next/link';
import { CreditMeter } from '@/components/CreditMeter';
import { RequireViewer, useViewer } from '@/components/Viewer';

export default function DashboardPage() {
  return (
    <RequireViewer>
      <Dashboard />
    </RequireViewer>
  );
}

function Dashboard() {
  const { viewer } = useViewer();
  return (
    <>
      <h1>Welcome, {viewer.name ?? viewer.email}</h1>
      <CreditMeter />
      <p className="row">
        <Link className="button" href="/generate">
          Generate an image
        </Link>
        <Link href="/pricing">Get more credits</Link>
      </p>
    </>
  );
}
