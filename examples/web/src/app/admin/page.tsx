'use client';

import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { RequireViewer } from '@/components/Viewer';
import type { Role } from '@/gql/graphql';
import {
  AdminCatalogQuery,
  AdminUsersQuery,
  FailedWebhooksQuery,
  GrantCreditsMutation,
  ReplayWebhookMutation,
  SetFeatureCostsMutation,
  SetUserRoleMutation,
  UpdatePlanMutation,
} from '@/lib/admin-documents';
import { day, money } from '@/lib/format';

const ROLES: Role[] = ['USER', 'PREMIUM', 'ADMIN', 'BANNED'];

export default function AdminPage() {
  return (
    <RequireViewer admin>
      <h1>Admin</h1>
      <Users />
      <Catalog />
      <FailedWebhooks />
    </RequireViewer>
  );
}

/** The outcome of a section's last action, shown at the top of that section. */
function useOutcome() {
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const view = message && (
    <p className={message.ok ? 'notice' : 'error'} role="status">
      {message.text}
    </p>
  );
  const report = (answer: { __typename?: string; message?: string } | undefined, success: string, error?: { message: string }) =>
    setMessage(answer && !('message' in answer && answer.message) ? { ok: true, text: success } : { ok: false, text: answer?.message ?? error?.message ?? 'Failed' });
  return { view, report };
}

function Users() {
  const [search, setSearch] = useState('');
  const [{ data }, refetch] = useQuery({ query: AdminUsersQuery, variables: { search: search || null }, requestPolicy: 'network-only' });
  const [, setRole] = useMutation(SetUserRoleMutation);
  const [, grant] = useMutation(GrantCreditsMutation);
  const { view, report } = useOutcome();

  async function changeRole(userId: string, email: string, role: Role) {
    const result = await setRole({ userId, role, reason: 'changed on the admin page' });
    report(result.data?.setUserRole, `${email} is now ${role.toLowerCase()}`, result.error);
    refetch({ requestPolicy: 'network-only' });
  }

  async function grantCredits(event: FormEvent<HTMLFormElement>, userId: string, email: string) {
    event.preventDefault();
    const amount = Number(new FormData(event.currentTarget).get('amount'));
    const result = await grant({ userId, amount, reason: 'granted on the admin page' });
    report(result.data?.grantCredits, `Granted ${amount} credits to ${email}`, result.error);
    refetch({ requestPolicy: 'network-only' });
  }

  return (
    <section className="panel" aria-label="Users">
      <h2>Users</h2>
      {view}
      <label>
        <span>Search by email or name</span>
        <input type="search" value={search} onChange={(event) => setSearch(event.target.value)} />
      </label>
      <table>
        <thead>
          <tr>
            <th>Email</th>
            <th>Name</th>
            <th>Tier</th>
            <th>Credits</th>
            <th>Role</th>
            <th>Grant</th>
          </tr>
        </thead>
        <tbody>
          {data?.users.edges.map(({ node: user }) => (
            <tr key={user.id} data-email={user.email}>
              <td>{user.email}</td>
              <td>{user.name}</td>
              <td>{user.tier.toLowerCase()}</td>
              <td>{user.creditBalance.total}</td>
              <td>
                <select aria-label={`Role of ${user.email}`} value={user.role} onChange={(event) => changeRole(user.id, user.email ?? user.id, event.target.value as Role)}>
                  {ROLES.map((role) => (
                    <option key={role} value={role}>
                      {role.toLowerCase()}
                    </option>
                  ))}
                </select>
              </td>
              <td>
                <form className="row" onSubmit={(event) => grantCredits(event, user.id, user.email ?? user.id)}>
                  <input aria-label={`Credits to grant ${user.email}`} name="amount" type="number" min={1} defaultValue={10} />
                  <button type="submit">Grant</button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">{data ? `${data.users.totalCount} user${data.users.totalCount === 1 ? '' : 's'}` : 'Loading…'}</p>
    </section>
  );
}

function Catalog() {
  const [{ data }, refetch] = useQuery({ query: AdminCatalogQuery, requestPolicy: 'network-only' });
  const [, updatePlan] = useMutation(UpdatePlanMutation);
  const [, setCosts] = useMutation(SetFeatureCostsMutation);
  const { view, report } = useOutcome();

  async function savePlan(event: FormEvent<HTMLFormElement>, key: string) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const result = await updatePlan({
      key,
      input: { badge: String(form.get('badge')) || null, highlight: form.get('highlight') === 'on', creditsPerPeriod: Number(form.get('credits')) },
    });
    report(result.data?.updatePlan, `Saved plan ${key}`, result.error);
    refetch({ requestPolicy: 'network-only' });
  }

  async function saveCost(event: FormEvent<HTMLFormElement>, operation: string) {
    event.preventDefault();
    const cost = Number(new FormData(event.currentTarget).get('cost'));
    const result = await setCosts({ costs: [{ operation, cost }] });
    report(result.data?.setFeatureCosts, `${operation} now costs ${cost}`, result.error);
    refetch({ requestPolicy: 'network-only' });
  }

  return (
    <section className="panel" aria-label="Plans and costs">
      <h2>Plans</h2>
      {view}
      <table>
        <thead>
          <tr>
            <th>Plan</th>
            <th>Price</th>
            <th>Badge, highlight, credits per period</th>
          </tr>
        </thead>
        <tbody>
          {data?.allPlans.map((plan) => (
            <tr key={plan.id}>
              <td>
                {plan.name} <span className="muted">({plan.key}{plan.active ? '' : ', archived'})</span>
              </td>
              <td>{money(plan.monthlyPriceCents, plan.currency)}</td>
              <td>
                <form className="row" onSubmit={(event) => savePlan(event, plan.key)}>
                  <input aria-label={`Badge of ${plan.name}`} name="badge" defaultValue={plan.badge ?? ''} />
                  <input aria-label={`Highlight ${plan.name}`} name="highlight" type="checkbox" defaultChecked={plan.highlight} />
                  <input aria-label={`Credits of ${plan.name}`} name="credits" type="number" min={0} defaultValue={plan.creditsPerPeriod} />
                  <button type="submit">Save</button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Feature costs</h2>
      <table>
        <tbody>
          {data?.featureCosts.map((cost) => (
            <tr key={cost.operation}>
              <td>
                {cost.operation}
                <div className="muted">{cost.description}</div>
              </td>
              <td>
                <form className="row" onSubmit={(event) => saveCost(event, cost.operation)}>
                  <input aria-label={`Cost of ${cost.operation}`} name="cost" type="number" min={0} defaultValue={cost.cost} />
                  <button type="submit">Save</button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function FailedWebhooks() {
  const [{ data }, refetch] = useQuery({ query: FailedWebhooksQuery, requestPolicy: 'network-only' });
  const [, replay] = useMutation(ReplayWebhookMutation);
  const { view, report } = useOutcome();

  async function replayEvent(eventId: string) {
    const result = await replay({ eventId });
    report(result.data?.replayWebhookEvent, `Queued ${eventId} again`, result.error);
    refetch({ requestPolicy: 'network-only' });
  }

  const events = data?.failedWebhookEvents.edges ?? [];
  return (
    <section className="panel" aria-label="Failed webhook events">
      <h2>Failed webhook events</h2>
      {view}
      {data && events.length === 0 && <p className="muted">None.</p>}
      {events.length > 0 && (
        <table>
          <tbody>
            {events.map(({ node: event }) => (
              <tr key={event.id}>
                <td>{event.stripeEventId}</td>
                <td>{event.type}</td>
                <td>{day(event.receivedAt)}</td>
                <td>{event.attempts} attempts</td>
                <td className="error">{event.lastError}</td>
                <td>
                  <button onClick={() => replayEvent(event.stripeEventId)}>Replay</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
