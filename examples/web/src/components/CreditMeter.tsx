'use client';

import { day } from '@/lib/format';
import { useViewer } from './Viewer';

/** Credits left, the allowance used this period as a bar, when it renews, and granted or purchased credits. */
export function CreditMeter() {
  const { viewer } = useViewer();
  const balance = viewer.creditBalance;
  const used = Math.min(balance.usedThisPeriod, balance.allowanceTotal);
  const percent = balance.allowanceTotal > 0 ? Math.round((used / balance.allowanceTotal) * 100) : 0;
  const subscription = viewer.subscription;
  return (
    <section className="panel meter" aria-label="Credits">
      <p className="balance">
        <strong data-testid="credit-total">{balance.total}</strong> credits
      </p>
      <div
        className="bar"
        role="progressbar"
        aria-label="Allowance used this period"
        aria-valuemin={0}
        aria-valuemax={balance.allowanceTotal}
        aria-valuenow={used}
      >
        <span style={{ width: `${percent}%` }} />
      </div>
      <p data-testid="allowance">
        {used} of {balance.allowanceTotal} allowance credits used this period
      </p>
      <p data-testid="renewal">
        {subscription?.cancelAtPeriodEnd ? 'Ends' : 'Renews'} on {day(subscription?.currentPeriodEnd ?? balance.nextResetAt)}
      </p>
      <p data-testid="granted">{balance.grantedRemaining} granted or purchased credits</p>
      <p data-testid="plan">
        Plan: {subscription?.plan?.name ?? 'Free'}
        {subscription ? ` (${subscription.status.toLowerCase().replace('_', ' ')})` : ''}
      </p>
    </section>
  );
}
