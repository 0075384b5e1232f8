import { LRUCache } from 'lru-cache';
import type { User } from '../generated/prisma/client.js';
import type { VerifiedIdentity } from './auth.js';

const keyOf = (identity: VerifiedIdentity) => identity.userId ?? identity.externalAuthId;
const claimsOf = (identity: VerifiedIdentity) =>
  JSON.stringify([identity.externalAuthId, identity.email, identity.emailVerified, identity.name, identity.picture]);

/**
 * Users this instance signed in a moment ago, by the identity their token carries. A request is served from here
 * without reading the user only when every root field it asks for checks the user again in the very statement that
 * acts on them (deductCredits and reserveCredits: see credit_spender_refusal), so a ban or a deletion made on another
 * instance is never missed; one made here forgets the user at once. Only plain users are kept: an admin's role is
 * what grants more, so an admin is read on every request. A token whose claims changed (name, email, picture) is
 * signed in again, which applies them.
 */
export class SignedInUsers {
  private readonly users = new LRUCache<string, { user: User; claims: string }>({ max: 10_000, ttl: 60_000 });

  remember(identity: VerifiedIdentity, user: User) {
    if (user.role !== 'USER' || user.deletedAt) return;
    // Relations read along with the user (balance, subscriptions) go stale first: they are never kept.
    const { creditBalance: _balance, subscriptions: _subscriptions, ...row } = user as User & { creditBalance?: unknown; subscriptions?: unknown };
    this.users.set(keyOf(identity), { user: row, claims: claimsOf(identity) });
  }

  recall(identity: VerifiedIdentity): User | null {
    const known = this.users.get(keyOf(identity));
    return known && known.claims === claimsOf(identity) ? known.user : null;
  }

  forget(userId: string) {
    for (const [key, known] of this.users.entries()) if (known.user.id === userId) this.users.delete(key);
  }
}
