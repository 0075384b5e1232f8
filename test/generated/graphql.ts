/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** The state of the paid membership, kept in step with the Stripe subscription */
export type MembershipStatus =
  /** Paying (or trialing); the plan allowance applies */
  | 'ACTIVE'
  /** The subscription ended */
  | 'CANCELED'
  /** Never subscribed, or the subscription ended long ago */
  | 'INACTIVE'
  /** A renewal payment failed; Stripe is retrying */
  | 'PAST_DUE';

/** What a user may do */
export type Role =
  /** May call every admin field (users, plans, costs, grants, analytics, audit log); never changed by billing */
  | 'ADMIN'
  /** Refused everywhere: every request with this account's token answers HTTP 403 ACCOUNT_BANNED with the ban reason */
  | 'BANNED'
  /** A user with an active or trialing subscription; set from Stripe, not by hand */
  | 'PREMIUM'
  /** A signed-in user with no paid subscription */
  | 'USER';

/** The product tier that decides the period allowance */
export type Tier =
  /** No subscription */
  | 'FREE'
  /** The middle paid tier */
  | 'PLUS'
  /** The top paid tier */
  | 'PRO';

export type CreditBalanceQueryVariables = Exact<{ [key: string]: never; }>;


export type CreditBalanceQuery = { viewer: { creditBalance: { allowanceRemaining: number, allowanceTotal: number, grantedRemaining: number, total: number, usedThisPeriod: number, periodStart: string, nextResetAt: string } } | null };

export type ViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type ViewerQuery = { viewer: { id: string, email: string | null, name: string | null, role: Role, membershipStatus: MembershipStatus, tier: Tier, preferences: Record<string, unknown>, createdAt: string } | null };


export const CreditBalanceDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CreditBalance"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"creditBalance"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"allowanceRemaining"}},{"kind":"Field","name":{"kind":"Name","value":"allowanceTotal"}},{"kind":"Field","name":{"kind":"Name","value":"grantedRemaining"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"usedThisPeriod"}},{"kind":"Field","name":{"kind":"Name","value":"periodStart"}},{"kind":"Field","name":{"kind":"Name","value":"nextResetAt"}}]}}]}}]}}]} as unknown as DocumentNode<CreditBalanceQuery, CreditBalanceQueryVariables>;
export const ViewerDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"email"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"membershipStatus"}},{"kind":"Field","name":{"kind":"Name","value":"tier"}},{"kind":"Field","name":{"kind":"Name","value":"preferences"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]}}]} as unknown as DocumentNode<ViewerQuery, ViewerQueryVariables>;
