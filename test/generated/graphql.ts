/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** What a service API key may do */
export type ApiKeyScope =
  /** grantCredits for any user */
  | 'GRANT'
  /** Read any user (node(id)), with their balance and subscription */
  | 'READ'
  /** deductCredits, reserveCredits and finalizeReservation for any user, at amounts it chooses */
  | 'SPEND';

/** What to generate. Options come from imageGenerationOptions; the price is creditsPerImage x quality multiplier x count. */
export type CreateImageGenerationInput = {
  /** One of imageGenerationOptions.aspectRatios; default the first */
  aspectRatio?: string | null | undefined;
  /** Images to generate, 1-4; default 1 */
  count?: number | null | undefined;
  /** Retrying with the same key returns the first generation */
  idempotencyKey?: string | null | undefined;
  /** One of imageGenerationOptions.models; default the first */
  model?: string | null | undefined;
  /** What to avoid, at most 2000 characters */
  negativePrompt?: string | null | undefined;
  /** What to draw, 1-2000 characters */
  prompt: string;
  /** Default STANDARD */
  quality?: GenerationQuality | null | undefined;
  /** Your image to start from; required for IMAGE_TO_IMAGE, UPSCALE and VARIATION */
  sourceImageId?: string | number | null | undefined;
  /** One of imageGenerationOptions.styles */
  style?: string | null | undefined;
  /** Default TEXT_TO_IMAGE */
  type?: GenerationType | null | undefined;
};

/** Why credits moved */
export type CreditTransactionKind =
  /** A signed correction by an admin */
  | 'ADJUSTMENT'
  /** The period allowance was set for a new billing period */
  | 'ALLOWANCE_RESET'
  /** Granted or purchased credits that expired */
  | 'EXPIRY'
  /** Added by an admin or a service key with GRANT */
  | 'GRANT'
  /** Added by a paid credit pack */
  | 'PURCHASE'
  /** Given back: a released or partly captured hold, or a failed generation */
  | 'REFUND'
  /** Spent on an operation (a deduction or a confirmed hold) */
  | 'USAGE';

/** What to spend, and for whom. The price is the feature cost x quantity unless a service key sets amount. */
export type DeductCreditsInput = {
  /** Service API keys only: charge this many credits instead of the configured price. Users get ForbiddenError. */
  amount?: number | null | undefined;
  /** Free-form context stored on the ledger row */
  details?: Record<string, unknown> | null | undefined;
  /** Retrying with the same key answers the first result and moves nothing; the same key with a different request is an IdempotencyConflictError. Keys are scoped to the caller and to the kind of call. */
  idempotencyKey?: string | null | undefined;
  /** A feature cost key, e.g. AI_IMAGE_GENERATION (see featureCosts) */
  operation: string;
  /** How many units of the operation (1-10000, default 1); the price is the feature cost x quantity */
  quantity?: number | null | undefined;
  /** Service API keys only (required for them): the user to charge. Users always act for themselves. */
  userId?: string | number | null | undefined;
};

/** Render quality; each has a credit multiplier (imageGenerationOptions.qualities) */
export type GenerationQuality =
  /** Higher quality at a higher multiplier */
  | 'HD'
  /** The default quality, multiplier 1 */
  | 'STANDARD';

/** Where a generation stands; poll until COMPLETED or FAILED */
export type GenerationStatus =
  /** Done; outputs holds the images and the credits are spent */
  | 'COMPLETED'
  /** Failed; errorMessage says why and the credits were refunded */
  | 'FAILED'
  /** Queued; the credits are held */
  | 'PENDING'
  /** Being rendered */
  | 'PROCESSING';

/** What kind of image work a generation does */
export type GenerationType =
  /** New images from a prompt and a source image */
  | 'IMAGE_TO_IMAGE'
  /** New images from a prompt */
  | 'TEXT_TO_IMAGE'
  /** A larger version of a source image */
  | 'UPSCALE'
  /** Variations of a source image */
  | 'VARIATION';

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

/** State of a credit hold */
export type ReservationStatus =
  /** Spent (all or capturedAmount of it) */
  | 'CONFIRMED'
  /** The credits are set aside until confirmed, released or expired */
  | 'HELD'
  /** Given back, by a release or at expiry */
  | 'RELEASED';

/** What to hold, and for whom. Priced like DeductCreditsInput. */
export type ReserveCreditsInput = {
  /** Service API keys only: charge this many credits instead of the configured price. Users get ForbiddenError. */
  amount?: number | null | undefined;
  /** Free-form context stored on the ledger row */
  details?: Record<string, unknown> | null | undefined;
  /** Retrying with the same key answers the first result and moves nothing; the same key with a different request is an IdempotencyConflictError. Keys are scoped to the caller and to the kind of call. */
  idempotencyKey?: string | null | undefined;
  /** A feature cost key, e.g. AI_IMAGE_GENERATION (see featureCosts) */
  operation: string;
  /** How many units of the operation (1-10000, default 1); the price is the feature cost x quantity */
  quantity?: number | null | undefined;
  /** How long the hold lasts before it is released (10-86400) */
  ttlSeconds?: number | null | undefined;
  /** Service API keys only (required for them): the user to charge. Users always act for themselves. */
  userId?: string | number | null | undefined;
};

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

export type CreateApiKeyMutationVariables = Exact<{
  name: string;
  scopes: Array<ApiKeyScope> | ApiKeyScope;
}>;


export type CreateApiKeyMutation = { createApiKey:
    | { __typename: 'CreatedApiKey', secret: string }
    | { __typename: 'ValidationError', message: string, code: string, issues: Array<{ path: string, message: string }> }
   };

export type CreditBalanceQueryVariables = Exact<{ [key: string]: never; }>;


export type CreditBalanceQuery = { viewer: { creditBalance: { allowanceRemaining: number, allowanceTotal: number, grantedRemaining: number, total: number, usedThisPeriod: number, periodStart: string, nextResetAt: string } } | null };

export type MovementFieldsFragment = { replayed: boolean, transaction: { kind: CreditTransactionKind, amount: number }, balance: { total: number, allowanceRemaining: number, allowanceTotal: number, grantedRemaining: number } };

export type DeductCreditsMutationVariables = Exact<{
  input: DeductCreditsInput;
}>;


export type DeductCreditsMutation = { deductCredits:
    | { __typename: 'CreditMovement', replayed: boolean, transaction: { kind: CreditTransactionKind, amount: number }, balance: { total: number, allowanceRemaining: number, allowanceTotal: number, grantedRemaining: number } }
    | { __typename: 'ForbiddenError', message: string, code: string }
    | { __typename: 'IdempotencyConflictError', message: string, code: string }
    | { __typename: 'InsufficientCreditsError', required: number, available: number, message: string, code: string }
    | { __typename: 'NotFoundError', message: string, code: string }
    | { __typename: 'RateLimitedError', message: string, code: string }
    | { __typename: 'ValidationError', message: string, code: string, issues: Array<{ path: string, message: string }> }
   };

export type GrantCreditsMutationVariables = Exact<{
  userId: string | number;
  amount: number;
  reason: string;
}>;


export type GrantCreditsMutation = { grantCredits:
    | { __typename: 'CreditMovement', replayed: boolean, transaction: { kind: CreditTransactionKind, amount: number }, balance: { total: number, allowanceRemaining: number, allowanceTotal: number, grantedRemaining: number } }
    | { __typename: 'NotFoundError', message: string, code: string }
    | { __typename: 'ValidationError', message: string, code: string, issues: Array<{ path: string, message: string }> }
   };

export type ResetAllowanceMutationVariables = Exact<{
  userId: string | number;
  reason: string;
}>;


export type ResetAllowanceMutation = { resetAllowance:
    | { __typename: 'CreditMovement', replayed: boolean, transaction: { kind: CreditTransactionKind, amount: number }, balance: { total: number, allowanceRemaining: number, allowanceTotal: number, grantedRemaining: number } }
    | { __typename: 'NotFoundError', message: string, code: string }
    | { __typename: 'ValidationError', message: string, code: string, issues: Array<{ path: string, message: string }> }
   };

export type ReserveCreditsMutationVariables = Exact<{
  input: ReserveCreditsInput;
}>;


export type ReserveCreditsMutation = { reserveCredits:
    | { __typename: 'ForbiddenError', message: string, code: string }
    | { __typename: 'IdempotencyConflictError', message: string, code: string }
    | { __typename: 'InsufficientCreditsError', message: string, code: string }
    | { __typename: 'NotFoundError', message: string, code: string }
    | { __typename: 'RateLimitedError', message: string, code: string }
    | { __typename: 'ReservationResult', replayed: boolean, reservation: { id: string, amount: number, status: ReservationStatus } }
    | { __typename: 'ValidationError', message: string, code: string, issues: Array<{ path: string, message: string }> }
   };

type FailureFields_BillingNotConfiguredError_Fragment = { message: string, code: string };

type FailureFields_ConflictError_Fragment = { message: string, code: string };

type FailureFields_ForbiddenError_Fragment = { message: string, code: string };

type FailureFields_IdempotencyConflictError_Fragment = { message: string, code: string };

type FailureFields_InsufficientCreditsError_Fragment = { message: string, code: string };

type FailureFields_NotFoundError_Fragment = { message: string, code: string };

type FailureFields_RateLimitedError_Fragment = { message: string, code: string };

type FailureFields_ValidationError_Fragment = { message: string, code: string };

export type FailureFieldsFragment =
  | FailureFields_BillingNotConfiguredError_Fragment
  | FailureFields_ConflictError_Fragment
  | FailureFields_ForbiddenError_Fragment
  | FailureFields_IdempotencyConflictError_Fragment
  | FailureFields_InsufficientCreditsError_Fragment
  | FailureFields_NotFoundError_Fragment
  | FailureFields_RateLimitedError_Fragment
  | FailureFields_ValidationError_Fragment
;

export type ValidationFailureFragment = { message: string, code: string, issues: Array<{ path: string, message: string }> };

export type StartGenerationMutationVariables = Exact<{
  input: CreateImageGenerationInput;
}>;


export type StartGenerationMutation = { createImageGeneration:
    | { __typename: 'ImageGeneration', id: string, status: GenerationStatus, prompt: string, credits: number }
    | { __typename: 'InsufficientCreditsError', required: number, available: number, message: string, code: string }
    | { __typename: 'RateLimitedError', message: string, code: string }
    | { __typename: 'ValidationError', message: string, code: string, issues: Array<{ path: string, message: string }> }
   };

export type SetUserRoleMutationVariables = Exact<{
  userId: string | number;
  role: Role;
  reason?: string | null | undefined;
}>;


export type SetUserRoleMutation = { setUserRole:
    | { __typename: 'NotFoundError', message: string, code: string }
    | { __typename: 'User', id: string, role: Role }
    | { __typename: 'ValidationError', message: string, code: string, issues: Array<{ path: string, message: string }> }
   };

export type AdminUsersQueryVariables = Exact<{
  search?: string | null | undefined;
  role?: Role | null | undefined;
  tier?: Tier | null | undefined;
  membershipStatus?: MembershipStatus | null | undefined;
  first?: number | null | undefined;
}>;


export type AdminUsersQuery = { users: { totalCount: number, edges: Array<{ node: { id: string, email: string | null, role: Role, tier: Tier, membershipStatus: MembershipStatus } }> } };

export type UpdatePreferencesMutationVariables = Exact<{
  preferences: Record<string, unknown>;
}>;


export type UpdatePreferencesMutation = { updatePreferences:
    | { __typename: 'User', preferences: Record<string, unknown> }
    | { __typename: 'ValidationError', message: string, code: string, issues: Array<{ path: string, message: string }> }
   };

export type DeleteAccountMutationVariables = Exact<{ [key: string]: never; }>;


export type DeleteAccountMutation = { deleteAccount:
    | { __typename: 'Deletion', id: string, deletedAt: string }
    | { __typename: 'NotFoundError', message: string, code: string }
    | { __typename: 'ValidationError', message: string, code: string }
   };

export type DeleteUserMutationVariables = Exact<{
  userId: string | number;
  reason?: string | null | undefined;
}>;


export type DeleteUserMutation = { deleteUser:
    | { __typename: 'Deletion', id: string, deletedAt: string }
    | { __typename: 'NotFoundError', message: string, code: string }
    | { __typename: 'ValidationError', message: string, code: string, issues: Array<{ path: string, message: string }> }
   };

export type PublicPlansQueryVariables = Exact<{ [key: string]: never; }>;


export type PublicPlansQuery = { plans: Array<{ key: string }> };

export type ViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type ViewerQuery = { viewer: { id: string, email: string | null, name: string | null, role: Role, membershipStatus: MembershipStatus, tier: Tier, preferences: Record<string, unknown>, createdAt: string } | null };

export const MovementFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"MovementFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"CreditMovement"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"replayed"}},{"kind":"Field","name":{"kind":"Name","value":"transaction"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"amount"}}]}},{"kind":"Field","name":{"kind":"Name","value":"balance"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"allowanceRemaining"}},{"kind":"Field","name":{"kind":"Name","value":"allowanceTotal"}},{"kind":"Field","name":{"kind":"Name","value":"grantedRemaining"}}]}}]}}]} as unknown as DocumentNode<MovementFieldsFragment, unknown>;
export const FailureFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"FailureFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}}]}}]} as unknown as DocumentNode<FailureFieldsFragment, unknown>;
export const ValidationFailureFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ValidationFailure"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ValidationError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"issues"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]} as unknown as DocumentNode<ValidationFailureFragment, unknown>;
export const CreateApiKeyDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateApiKey"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"name"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"scopes"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ApiKeyScope"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createApiKey"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"name"},"value":{"kind":"Variable","name":{"kind":"Name","value":"name"}}},{"kind":"Argument","name":{"kind":"Name","value":"scopes"},"value":{"kind":"Variable","name":{"kind":"Name","value":"scopes"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"CreatedApiKey"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"secret"}}]}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ValidationFailure"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ValidationFailure"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ValidationError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"issues"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]} as unknown as DocumentNode<CreateApiKeyMutation, CreateApiKeyMutationVariables>;
export const CreditBalanceDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CreditBalance"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"creditBalance"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"allowanceRemaining"}},{"kind":"Field","name":{"kind":"Name","value":"allowanceTotal"}},{"kind":"Field","name":{"kind":"Name","value":"grantedRemaining"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"usedThisPeriod"}},{"kind":"Field","name":{"kind":"Name","value":"periodStart"}},{"kind":"Field","name":{"kind":"Name","value":"nextResetAt"}}]}}]}}]}}]} as unknown as DocumentNode<CreditBalanceQuery, CreditBalanceQueryVariables>;
export const DeductCreditsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DeductCredits"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DeductCreditsInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deductCredits"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"MovementFields"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"InsufficientCreditsError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"required"}},{"kind":"Field","name":{"kind":"Name","value":"available"}}]}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"FailureFields"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ValidationFailure"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"MovementFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"CreditMovement"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"replayed"}},{"kind":"Field","name":{"kind":"Name","value":"transaction"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"amount"}}]}},{"kind":"Field","name":{"kind":"Name","value":"balance"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"allowanceRemaining"}},{"kind":"Field","name":{"kind":"Name","value":"allowanceTotal"}},{"kind":"Field","name":{"kind":"Name","value":"grantedRemaining"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"FailureFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ValidationFailure"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ValidationError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"issues"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]} as unknown as DocumentNode<DeductCreditsMutation, DeductCreditsMutationVariables>;
export const GrantCreditsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"GrantCredits"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"userId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"amount"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"reason"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"grantCredits"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"userId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"userId"}}},{"kind":"Argument","name":{"kind":"Name","value":"amount"},"value":{"kind":"Variable","name":{"kind":"Name","value":"amount"}}},{"kind":"Argument","name":{"kind":"Name","value":"reason"},"value":{"kind":"Variable","name":{"kind":"Name","value":"reason"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"MovementFields"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"FailureFields"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ValidationFailure"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"MovementFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"CreditMovement"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"replayed"}},{"kind":"Field","name":{"kind":"Name","value":"transaction"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"amount"}}]}},{"kind":"Field","name":{"kind":"Name","value":"balance"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"allowanceRemaining"}},{"kind":"Field","name":{"kind":"Name","value":"allowanceTotal"}},{"kind":"Field","name":{"kind":"Name","value":"grantedRemaining"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"FailureFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ValidationFailure"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ValidationError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"issues"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]} as unknown as DocumentNode<GrantCreditsMutation, GrantCreditsMutationVariables>;
export const ResetAllowanceDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ResetAllowance"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"userId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"reason"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"resetAllowance"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"userId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"userId"}}},{"kind":"Argument","name":{"kind":"Name","value":"reason"},"value":{"kind":"Variable","name":{"kind":"Name","value":"reason"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"MovementFields"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"FailureFields"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ValidationFailure"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"MovementFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"CreditMovement"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"replayed"}},{"kind":"Field","name":{"kind":"Name","value":"transaction"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"amount"}}]}},{"kind":"Field","name":{"kind":"Name","value":"balance"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"allowanceRemaining"}},{"kind":"Field","name":{"kind":"Name","value":"allowanceTotal"}},{"kind":"Field","name":{"kind":"Name","value":"grantedRemaining"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"FailureFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ValidationFailure"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ValidationError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"issues"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]} as unknown as DocumentNode<ResetAllowanceMutation, ResetAllowanceMutationVariables>;
export const ReserveCreditsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ReserveCredits"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ReserveCreditsInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reserveCredits"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ReservationResult"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"replayed"}},{"kind":"Field","name":{"kind":"Name","value":"reservation"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"amount"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"FailureFields"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ValidationFailure"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"FailureFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ValidationFailure"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ValidationError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"issues"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]} as unknown as DocumentNode<ReserveCreditsMutation, ReserveCreditsMutationVariables>;
export const StartGenerationDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"StartGeneration"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateImageGenerationInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createImageGeneration"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageGeneration"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"prompt"}},{"kind":"Field","name":{"kind":"Name","value":"credits"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"InsufficientCreditsError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"required"}},{"kind":"Field","name":{"kind":"Name","value":"available"}}]}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"FailureFields"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ValidationFailure"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"FailureFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ValidationFailure"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ValidationError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"issues"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]} as unknown as DocumentNode<StartGenerationMutation, StartGenerationMutationVariables>;
export const SetUserRoleDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SetUserRole"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"userId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"role"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Role"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"reason"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"setUserRole"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"userId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"userId"}}},{"kind":"Argument","name":{"kind":"Name","value":"role"},"value":{"kind":"Variable","name":{"kind":"Name","value":"role"}}},{"kind":"Argument","name":{"kind":"Name","value":"reason"},"value":{"kind":"Variable","name":{"kind":"Name","value":"reason"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"User"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"role"}}]}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"FailureFields"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ValidationFailure"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"FailureFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ValidationFailure"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ValidationError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"issues"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]} as unknown as DocumentNode<SetUserRoleMutation, SetUserRoleMutationVariables>;
export const AdminUsersDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"AdminUsers"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"search"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"role"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Role"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"tier"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Tier"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"membershipStatus"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"MembershipStatus"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"users"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"search"},"value":{"kind":"Variable","name":{"kind":"Name","value":"search"}}},{"kind":"Argument","name":{"kind":"Name","value":"role"},"value":{"kind":"Variable","name":{"kind":"Name","value":"role"}}},{"kind":"Argument","name":{"kind":"Name","value":"tier"},"value":{"kind":"Variable","name":{"kind":"Name","value":"tier"}}},{"kind":"Argument","name":{"kind":"Name","value":"membershipStatus"},"value":{"kind":"Variable","name":{"kind":"Name","value":"membershipStatus"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"email"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"tier"}},{"kind":"Field","name":{"kind":"Name","value":"membershipStatus"}}]}}]}}]}}]}}]} as unknown as DocumentNode<AdminUsersQuery, AdminUsersQueryVariables>;
export const UpdatePreferencesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UpdatePreferences"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"preferences"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"JSONObject"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"updatePreferences"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"preferences"},"value":{"kind":"Variable","name":{"kind":"Name","value":"preferences"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"User"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"preferences"}}]}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ValidationFailure"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ValidationFailure"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ValidationError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"issues"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]} as unknown as DocumentNode<UpdatePreferencesMutation, UpdatePreferencesMutationVariables>;
export const DeleteAccountDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DeleteAccount"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deleteAccount"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Deletion"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"deletedAt"}}]}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"FailureFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"FailureFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}}]}}]} as unknown as DocumentNode<DeleteAccountMutation, DeleteAccountMutationVariables>;
export const DeleteUserDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DeleteUser"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"userId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"reason"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deleteUser"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"userId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"userId"}}},{"kind":"Argument","name":{"kind":"Name","value":"reason"},"value":{"kind":"Variable","name":{"kind":"Name","value":"reason"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Deletion"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"deletedAt"}}]}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"FailureFields"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ValidationFailure"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"FailureFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ValidationFailure"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ValidationError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"issues"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]} as unknown as DocumentNode<DeleteUserMutation, DeleteUserMutationVariables>;
export const PublicPlansDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"PublicPlans"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"plans"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}}]}}]}}]} as unknown as DocumentNode<PublicPlansQuery, PublicPlansQueryVariables>;
export const ViewerDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"email"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"membershipStatus"}},{"kind":"Field","name":{"kind":"Name","value":"tier"}},{"kind":"Field","name":{"kind":"Name","value":"preferences"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]}}]} as unknown as DocumentNode<ViewerQuery, ViewerQueryVariables>;
