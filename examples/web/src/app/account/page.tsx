'use client';

import { useState } from 'react';
import { useMutation } from 'urql';
import { CreditMeter } from '@/components/CreditMeter';
import { RequireViewer, useViewer } from '@/components/Viewer';
import { BillingPortalMutation, DeleteAccountMutation } from '@/lib/documents';

export default function AccountPage() {
  return (
    <RequireViewer>
      <Account />
    </RequireViewer>
  );
}

function Account() {
  const { viewer } = useViewer();
  const [portal, openPortal] = useMutation(BillingPortalMutation);
  const [deletion, deleteAccount] = useMutation(DeleteAccountMutation);
  const [confirmation, setConfirmation] = useState('');
  const [problem, setProblem] = useState<string | null>(null);

  async function goToPortal() {
    setProblem(null);
    const result = await openPortal({ returnUrl: `${window.location.origin}/account` });
    const answer = result.data?.createBillingPortalSession;
    if (answer?.__typename === 'BillingPortalSession') window.location.assign(answer.url);
    else setProblem(answer && 'message' in answer ? answer.message : (result.error?.message ?? 'The billing portal is unavailable.'));
  }

  async function remove() {
    const result = await deleteAccount({});
    const answer = result.data?.deleteAccount;
    if (answer?.__typename === 'Deletion') {
      await fetch('/api/sign-out', { method: 'POST' });
      window.location.assign('/sign-in');
    } else setProblem(answer && 'message' in answer ? answer.message : (result.error?.message ?? 'The account could not be deleted.'));
  }

  return (
    <>
      <h1>Account</h1>
      <section className="panel">
        <p>
          {viewer.name} · {viewer.email} · <span data-testid="role">{viewer.role.toLowerCase()}</span>
        </p>
      </section>
      <CreditMeter />
      <section className="panel">
        <h2>Billing</h2>
        <p className="muted">Change your card, download invoices or cancel in Stripe&apos;s billing portal.</p>
        <button onClick={goToPortal} disabled={portal.fetching}>
          Open the billing portal
        </button>
      </section>
      <section className="panel">
        <h2>Delete account</h2>
        <p className="muted">Your images and history are removed and you are signed out. Type DELETE to confirm.</p>
        <div className="row">
          <label>
            <span>Confirmation</span>
            <input value={confirmation} onChange={(event) => setConfirmation(event.target.value)} />
          </label>
          <button className="danger" disabled={confirmation !== 'DELETE' || deletion.fetching} onClick={remove}>
            Delete my account
          </button>
        </div>
      </section>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
    </>
  );
}
