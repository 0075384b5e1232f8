'use client';

import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import type { CreateCheckoutSessionInput } from '@/gql/graphql';
import { CreateCheckoutMutation, PricingQuery } from '@/lib/documents';
import { money } from '@/lib/format';
import { errorCode } from '@/components/Viewer';

export default function PricingPage() {
  const [{ data, error }] = useQuery({ query: PricingQuery });
  const [checkout, startCheckout] = useMutation(CreateCheckoutMutation);
  const [problem, setProblem] = useState<string | null>(null);

  async function buy(choice: Pick<CreateCheckoutSessionInput, 'planKey' | 'packKey'>) {
    setProblem(null);
    const origin = window.location.origin;
    const result = await startCheckout({
      input: {
        ...choice,
        ...(choice.planKey ? { interval: 'MONTH' as const } : {}),
        successUrl: `${origin}/checkout/return?session_id={CHECKOUT_SESSION_ID}`,
        cancelUrl: `${origin}/pricing`,
      },
    });
    const answer = result.data?.createCheckoutSession;
    if (answer?.__typename === 'CheckoutSession' && answer.url) window.location.assign(answer.url);
    else if (errorCode(result.error) === 'UNAUTHENTICATED') setProblem('Sign in to buy a plan or credits.');
    else setProblem(answer && 'message' in answer ? answer.message : (result.error?.message ?? 'Checkout could not start.'));
  }

  if (error) return <p className="error">{error.message}</p>;
  if (!data) return <p className="muted">Loading…</p>;
  return (
    <>
      <h1>Pricing</h1>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      <div className="cards">
        {data.plans.map((plan) => (
          <article key={plan.id} className={`card${plan.highlight ? ' highlight' : ''}`} aria-label={plan.name}>
            {plan.badge && <span className="badge">{plan.badge}</span>}
            <h2>{plan.name}</h2>
            <p className="price">
              {money(plan.monthlyPriceCents, plan.currency)}
              <span className="muted"> / month</span>
            </p>
            <p>{plan.creditsPerPeriod} credits every month</p>
            {plan.description && <p className="muted">{plan.description}</p>}
            <ul>
              {plan.features.map((feature) => (
                <li key={feature}>{feature}</li>
              ))}
            </ul>
            {plan.callToAction.type === 'CHECKOUT' && plan.monthlyPriceCents > 0 && (
              <button disabled={checkout.fetching} onClick={() => buy({ planKey: plan.key })}>
                {plan.callToAction.label ?? `Choose ${plan.name}`}
              </button>
            )}
            {plan.callToAction.type !== 'CHECKOUT' && (
              <a className="button secondary" href={plan.callToAction.url ?? '/sign-in'}>
                {plan.callToAction.label ?? 'Learn more'}
              </a>
            )}
          </article>
        ))}
      </div>
      <h2>Credit packs</h2>
      <div className="cards">
        {data.creditPacks.map((pack) => (
          <article key={pack.id} className="card" aria-label={pack.name}>
            {pack.badge && <span className="badge">{pack.badge}</span>}
            <h3>{pack.name}</h3>
            <p className="price">{money(pack.priceCents, pack.currency)}</p>
            <p>
              {pack.credits} credits{pack.expiresInDays ? `, valid ${pack.expiresInDays} days` : ''}
            </p>
            <button disabled={checkout.fetching} onClick={() => buy({ packKey: pack.key })}>
              Buy {pack.credits} credits
            </button>
          </article>
        ))}
      </div>
    </>
  );
}
