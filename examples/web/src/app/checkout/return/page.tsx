'use client';

import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { Suspense, useEffect, useRef } from 'react';
import { useMutation } from 'urql';
import { CreditMeter } from '@/components/CreditMeter';
import { RequireViewer, useViewer } from '@/components/Viewer';
import { VerifyCheckoutMutation } from '@/lib/documents';

export default function CheckoutReturnPage() {
  return (
    <RequireViewer>
      <Suspense>
        <Verify />
      </Suspense>
    </RequireViewer>
  );
}

/** Stripe sends the customer here; the API checks the session with Stripe and applies it once. */
function Verify() {
  const sessionId = useSearchParams().get('session_id');
  const { refresh } = useViewer();
  const [result, verify] = useMutation(VerifyCheckoutMutation);
  const started = useRef(false);
  useEffect(() => {
    if (!sessionId || started.current) return;
    started.current = true;
    verify({ sessionId }).then(() => refresh());
  }, [sessionId, verify, refresh]);

  const answer = result.data?.verifyCheckoutSession;
  return (
    <>
      <h1>Checkout</h1>
      {!sessionId && <p className="error">No checkout session in this link.</p>}
      {result.fetching && <p className="muted">Confirming your payment…</p>}
      {answer?.__typename === 'CheckoutResult' && (
        <p className="notice" role="status">
          {answer.planKey
            ? `Thank you! Your ${answer.planKey} plan is ${answer.subscriptionStatus?.toLowerCase() ?? 'active'}.`
            : `Thank you! ${answer.creditsGranted} credits were added.`}
        </p>
      )}
      {answer && answer.__typename !== 'CheckoutResult' && 'message' in answer && <p className="error">{answer.message}</p>}
      {result.error && <p className="error">{result.error.message}</p>}
      <CreditMeter />
      <Link href="/generate">Generate an image</Link>
    </>
  );
}
