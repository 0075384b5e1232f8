/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query AdminCatalog {\n    allPlans {\n      id\n      key\n      name\n      active\n      badge\n      highlight\n      creditsPerPeriod\n      monthlyPriceCents\n      currency\n    }\n    featureCosts {\n      operation\n      cost\n      description\n    }\n  }\n": typeof types.AdminCatalogDocument,
    "\n  mutation AdminUpdatePlan($key: String!, $input: PlanUpdateInput!) {\n    updatePlan(key: $key, input: $input) {\n      __typename\n      ... on Plan {\n        id\n        badge\n        highlight\n        creditsPerPeriod\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": typeof types.AdminUpdatePlanDocument,
    "\n  mutation AdminSetFeatureCosts($costs: [FeatureCostInput!]!) {\n    setFeatureCosts(costs: $costs) {\n      __typename\n      ... on SetFeatureCostsSuccess {\n        data {\n          operation\n          cost\n        }\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": typeof types.AdminSetFeatureCostsDocument,
    "\n  query AdminUsers($search: String, $role: Role) {\n    users(first: 50, search: $search, role: $role) {\n      totalCount\n      edges {\n        node {\n          id\n          email\n          name\n          role\n          tier\n          creditBalance {\n            total\n          }\n        }\n      }\n    }\n  }\n": typeof types.AdminUsersDocument,
    "\n  mutation AdminSetUserRole($userId: ID!, $role: Role!, $reason: String) {\n    setUserRole(userId: $userId, role: $role, reason: $reason) {\n      __typename\n      ... on User {\n        id\n        role\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": typeof types.AdminSetUserRoleDocument,
    "\n  mutation AdminGrantCredits($userId: ID!, $amount: Int!, $reason: String!) {\n    grantCredits(userId: $userId, amount: $amount, reason: $reason) {\n      __typename\n      ... on CreditMovement {\n        balance {\n          total\n        }\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": typeof types.AdminGrantCreditsDocument,
    "\n  query AdminFailedWebhooks {\n    failedWebhookEvents(first: 50) {\n      totalCount\n      edges {\n        node {\n          id\n          stripeEventId\n          type\n          attempts\n          lastError\n          receivedAt\n          status\n        }\n      }\n    }\n  }\n": typeof types.AdminFailedWebhooksDocument,
    "\n  mutation AdminReplayWebhook($eventId: String!) {\n    replayWebhookEvent(eventId: $eventId) {\n      __typename\n      ... on WebhookEvent {\n        id\n        status\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": typeof types.AdminReplayWebhookDocument,
    "\n  query Viewer {\n    viewer {\n      id\n      email\n      name\n      role\n      tier\n      creditBalance {\n        total\n        allowanceTotal\n        allowanceRemaining\n        usedThisPeriod\n        grantedRemaining\n        periodStart\n        nextResetAt\n      }\n      subscription {\n        status\n        cancelAtPeriodEnd\n        currentPeriodEnd\n        plan {\n          name\n        }\n      }\n    }\n  }\n": typeof types.ViewerDocument,
    "\n  query Pricing {\n    plans {\n      id\n      key\n      name\n      description\n      badge\n      highlight\n      features\n      tier\n      creditsPerPeriod\n      monthlyPriceCents\n      yearlyPriceCents\n      currency\n      callToAction {\n        type\n        label\n        url\n      }\n    }\n    creditPacks {\n      id\n      key\n      name\n      description\n      badge\n      credits\n      priceCents\n      currency\n      expiresInDays\n    }\n  }\n": typeof types.PricingDocument,
    "\n  mutation CreateCheckout($input: CreateCheckoutSessionInput!) {\n    createCheckoutSession(input: $input) {\n      __typename\n      ... on CheckoutSession {\n        sessionId\n        url\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": typeof types.CreateCheckoutDocument,
    "\n  mutation VerifyCheckout($sessionId: String!) {\n    verifyCheckoutSession(sessionId: $sessionId) {\n      __typename\n      ... on CheckoutResult {\n        mode\n        planKey\n        packKey\n        creditsGranted\n        subscriptionStatus\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": typeof types.VerifyCheckoutDocument,
    "\n  mutation BillingPortal($returnUrl: String!) {\n    createBillingPortalSession(returnUrl: $returnUrl) {\n      __typename\n      ... on BillingPortalSession {\n        url\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": typeof types.BillingPortalDocument,
    "\n  query GenerationOptions {\n    imageGenerationOptions {\n      models\n      styles\n      aspectRatios\n      creditsPerImage\n      maxCount\n    }\n  }\n": typeof types.GenerationOptionsDocument,
    "\n  fragment GenerationFields on ImageGeneration {\n    id\n    prompt\n    status\n    type\n    model\n    style\n    aspectRatio\n    count\n    credits\n    errorMessage\n    createdAt\n    outputs {\n      id\n      url\n      width\n      height\n    }\n  }\n": typeof types.GenerationFieldsFragmentDoc,
    "\n  mutation CreateGeneration($input: CreateImageGenerationInput!) {\n    createImageGeneration(input: $input) {\n      __typename\n      ... on ImageGeneration {\n        ...GenerationFields\n      }\n      ... on InsufficientCreditsError {\n        required\n        available\n      }\n      ... on RateLimitedError {\n        retryAfterSeconds\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": typeof types.CreateGenerationDocument,
    "\n  query Generation($id: ID!) {\n    imageGeneration(id: $id) {\n      ...GenerationFields\n    }\n  }\n": typeof types.GenerationDocument,
    "\n  query History($first: Int!, $after: String, $status: GenerationStatus, $type: GenerationType, $from: DateTime) {\n    viewer {\n      id\n      imageGenerations(first: $first, after: $after, status: $status, type: $type, from: $from) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        edges {\n          node {\n            ...GenerationFields\n          }\n        }\n      }\n    }\n  }\n": typeof types.HistoryDocument,
    "\n  mutation DeleteAccount {\n    deleteAccount {\n      __typename\n      ... on Deletion {\n        deletedAt\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": typeof types.DeleteAccountDocument,
};
const documents: Documents = {
    "\n  query AdminCatalog {\n    allPlans {\n      id\n      key\n      name\n      active\n      badge\n      highlight\n      creditsPerPeriod\n      monthlyPriceCents\n      currency\n    }\n    featureCosts {\n      operation\n      cost\n      description\n    }\n  }\n": types.AdminCatalogDocument,
    "\n  mutation AdminUpdatePlan($key: String!, $input: PlanUpdateInput!) {\n    updatePlan(key: $key, input: $input) {\n      __typename\n      ... on Plan {\n        id\n        badge\n        highlight\n        creditsPerPeriod\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": types.AdminUpdatePlanDocument,
    "\n  mutation AdminSetFeatureCosts($costs: [FeatureCostInput!]!) {\n    setFeatureCosts(costs: $costs) {\n      __typename\n      ... on SetFeatureCostsSuccess {\n        data {\n          operation\n          cost\n        }\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": types.AdminSetFeatureCostsDocument,
    "\n  query AdminUsers($search: String, $role: Role) {\n    users(first: 50, search: $search, role: $role) {\n      totalCount\n      edges {\n        node {\n          id\n          email\n          name\n          role\n          tier\n          creditBalance {\n            total\n          }\n        }\n      }\n    }\n  }\n": types.AdminUsersDocument,
    "\n  mutation AdminSetUserRole($userId: ID!, $role: Role!, $reason: String) {\n    setUserRole(userId: $userId, role: $role, reason: $reason) {\n      __typename\n      ... on User {\n        id\n        role\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": types.AdminSetUserRoleDocument,
    "\n  mutation AdminGrantCredits($userId: ID!, $amount: Int!, $reason: String!) {\n    grantCredits(userId: $userId, amount: $amount, reason: $reason) {\n      __typename\n      ... on CreditMovement {\n        balance {\n          total\n        }\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": types.AdminGrantCreditsDocument,
    "\n  query AdminFailedWebhooks {\n    failedWebhookEvents(first: 50) {\n      totalCount\n      edges {\n        node {\n          id\n          stripeEventId\n          type\n          attempts\n          lastError\n          receivedAt\n          status\n        }\n      }\n    }\n  }\n": types.AdminFailedWebhooksDocument,
    "\n  mutation AdminReplayWebhook($eventId: String!) {\n    replayWebhookEvent(eventId: $eventId) {\n      __typename\n      ... on WebhookEvent {\n        id\n        status\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": types.AdminReplayWebhookDocument,
    "\n  query Viewer {\n    viewer {\n      id\n      email\n      name\n      role\n      tier\n      creditBalance {\n        total\n        allowanceTotal\n        allowanceRemaining\n        usedThisPeriod\n        grantedRemaining\n        periodStart\n        nextResetAt\n      }\n      subscription {\n        status\n        cancelAtPeriodEnd\n        currentPeriodEnd\n        plan {\n          name\n        }\n      }\n    }\n  }\n": types.ViewerDocument,
    "\n  query Pricing {\n    plans {\n      id\n      key\n      name\n      description\n      badge\n      highlight\n      features\n      tier\n      creditsPerPeriod\n      monthlyPriceCents\n      yearlyPriceCents\n      currency\n      callToAction {\n        type\n        label\n        url\n      }\n    }\n    creditPacks {\n      id\n      key\n      name\n      description\n      badge\n      credits\n      priceCents\n      currency\n      expiresInDays\n    }\n  }\n": types.PricingDocument,
    "\n  mutation CreateCheckout($input: CreateCheckoutSessionInput!) {\n    createCheckoutSession(input: $input) {\n      __typename\n      ... on CheckoutSession {\n        sessionId\n        url\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": types.CreateCheckoutDocument,
    "\n  mutation VerifyCheckout($sessionId: String!) {\n    verifyCheckoutSession(sessionId: $sessionId) {\n      __typename\n      ... on CheckoutResult {\n        mode\n        planKey\n        packKey\n        creditsGranted\n        subscriptionStatus\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": types.VerifyCheckoutDocument,
    "\n  mutation BillingPortal($returnUrl: String!) {\n    createBillingPortalSession(returnUrl: $returnUrl) {\n      __typename\n      ... on BillingPortalSession {\n        url\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": types.BillingPortalDocument,
    "\n  query GenerationOptions {\n    imageGenerationOptions {\n      models\n      styles\n      aspectRatios\n      creditsPerImage\n      maxCount\n    }\n  }\n": types.GenerationOptionsDocument,
    "\n  fragment GenerationFields on ImageGeneration {\n    id\n    prompt\n    status\n    type\n    model\n    style\n    aspectRatio\n    count\n    credits\n    errorMessage\n    createdAt\n    outputs {\n      id\n      url\n      width\n      height\n    }\n  }\n": types.GenerationFieldsFragmentDoc,
    "\n  mutation CreateGeneration($input: CreateImageGenerationInput!) {\n    createImageGeneration(input: $input) {\n      __typename\n      ... on ImageGeneration {\n        ...GenerationFields\n      }\n      ... on InsufficientCreditsError {\n        required\n        available\n      }\n      ... on RateLimitedError {\n        retryAfterSeconds\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": types.CreateGenerationDocument,
    "\n  query Generation($id: ID!) {\n    imageGeneration(id: $id) {\n      ...GenerationFields\n    }\n  }\n": types.GenerationDocument,
    "\n  query History($first: Int!, $after: String, $status: GenerationStatus, $type: GenerationType, $from: DateTime) {\n    viewer {\n      id\n      imageGenerations(first: $first, after: $after, status: $status, type: $type, from: $from) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        edges {\n          node {\n            ...GenerationFields\n          }\n        }\n      }\n    }\n  }\n": types.HistoryDocument,
    "\n  mutation DeleteAccount {\n    deleteAccount {\n      __typename\n      ... on Deletion {\n        deletedAt\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n": types.DeleteAccountDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AdminCatalog {\n    allPlans {\n      id\n      key\n      name\n      active\n      badge\n      highlight\n      creditsPerPeriod\n      monthlyPriceCents\n      currency\n    }\n    featureCosts {\n      operation\n      cost\n      description\n    }\n  }\n"): (typeof documents)["\n  query AdminCatalog {\n    allPlans {\n      id\n      key\n      name\n      active\n      badge\n      highlight\n      creditsPerPeriod\n      monthlyPriceCents\n      currency\n    }\n    featureCosts {\n      operation\n      cost\n      description\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AdminUpdatePlan($key: String!, $input: PlanUpdateInput!) {\n    updatePlan(key: $key, input: $input) {\n      __typename\n      ... on Plan {\n        id\n        badge\n        highlight\n        creditsPerPeriod\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation AdminUpdatePlan($key: String!, $input: PlanUpdateInput!) {\n    updatePlan(key: $key, input: $input) {\n      __typename\n      ... on Plan {\n        id\n        badge\n        highlight\n        creditsPerPeriod\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AdminSetFeatureCosts($costs: [FeatureCostInput!]!) {\n    setFeatureCosts(costs: $costs) {\n      __typename\n      ... on SetFeatureCostsSuccess {\n        data {\n          operation\n          cost\n        }\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation AdminSetFeatureCosts($costs: [FeatureCostInput!]!) {\n    setFeatureCosts(costs: $costs) {\n      __typename\n      ... on SetFeatureCostsSuccess {\n        data {\n          operation\n          cost\n        }\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AdminUsers($search: String, $role: Role) {\n    users(first: 50, search: $search, role: $role) {\n      totalCount\n      edges {\n        node {\n          id\n          email\n          name\n          role\n          tier\n          creditBalance {\n            total\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query AdminUsers($search: String, $role: Role) {\n    users(first: 50, search: $search, role: $role) {\n      totalCount\n      edges {\n        node {\n          id\n          email\n          name\n          role\n          tier\n          creditBalance {\n            total\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AdminSetUserRole($userId: ID!, $role: Role!, $reason: String) {\n    setUserRole(userId: $userId, role: $role, reason: $reason) {\n      __typename\n      ... on User {\n        id\n        role\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation AdminSetUserRole($userId: ID!, $role: Role!, $reason: String) {\n    setUserRole(userId: $userId, role: $role, reason: $reason) {\n      __typename\n      ... on User {\n        id\n        role\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AdminGrantCredits($userId: ID!, $amount: Int!, $reason: String!) {\n    grantCredits(userId: $userId, amount: $amount, reason: $reason) {\n      __typename\n      ... on CreditMovement {\n        balance {\n          total\n        }\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation AdminGrantCredits($userId: ID!, $amount: Int!, $reason: String!) {\n    grantCredits(userId: $userId, amount: $amount, reason: $reason) {\n      __typename\n      ... on CreditMovement {\n        balance {\n          total\n        }\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AdminFailedWebhooks {\n    failedWebhookEvents(first: 50) {\n      totalCount\n      edges {\n        node {\n          id\n          stripeEventId\n          type\n          attempts\n          lastError\n          receivedAt\n          status\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query AdminFailedWebhooks {\n    failedWebhookEvents(first: 50) {\n      totalCount\n      edges {\n        node {\n          id\n          stripeEventId\n          type\n          attempts\n          lastError\n          receivedAt\n          status\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AdminReplayWebhook($eventId: String!) {\n    replayWebhookEvent(eventId: $eventId) {\n      __typename\n      ... on WebhookEvent {\n        id\n        status\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation AdminReplayWebhook($eventId: String!) {\n    replayWebhookEvent(eventId: $eventId) {\n      __typename\n      ... on WebhookEvent {\n        id\n        status\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Viewer {\n    viewer {\n      id\n      email\n      name\n      role\n      tier\n      creditBalance {\n        total\n        allowanceTotal\n        allowanceRemaining\n        usedThisPeriod\n        grantedRemaining\n        periodStart\n        nextResetAt\n      }\n      subscription {\n        status\n        cancelAtPeriodEnd\n        currentPeriodEnd\n        plan {\n          name\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Viewer {\n    viewer {\n      id\n      email\n      name\n      role\n      tier\n      creditBalance {\n        total\n        allowanceTotal\n        allowanceRemaining\n        usedThisPeriod\n        grantedRemaining\n        periodStart\n        nextResetAt\n      }\n      subscription {\n        status\n        cancelAtPeriodEnd\n        currentPeriodEnd\n        plan {\n          name\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Pricing {\n    plans {\n      id\n      key\n      name\n      description\n      badge\n      highlight\n      features\n      tier\n      creditsPerPeriod\n      monthlyPriceCents\n      yearlyPriceCents\n      currency\n      callToAction {\n        type\n        label\n        url\n      }\n    }\n    creditPacks {\n      id\n      key\n      name\n      description\n      badge\n      credits\n      priceCents\n      currency\n      expiresInDays\n    }\n  }\n"): (typeof documents)["\n  query Pricing {\n    plans {\n      id\n      key\n      name\n      description\n      badge\n      highlight\n      features\n      tier\n      creditsPerPeriod\n      monthlyPriceCents\n      yearlyPriceCents\n      currency\n      callToAction {\n        type\n        label\n        url\n      }\n    }\n    creditPacks {\n      id\n      key\n      name\n      description\n      badge\n      credits\n      priceCents\n      currency\n      expiresInDays\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateCheckout($input: CreateCheckoutSessionInput!) {\n    createCheckoutSession(input: $input) {\n      __typename\n      ... on CheckoutSession {\n        sessionId\n        url\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateCheckout($input: CreateCheckoutSessionInput!) {\n    createCheckoutSession(input: $input) {\n      __typename\n      ... on CheckoutSession {\n        sessionId\n        url\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation VerifyCheckout($sessionId: String!) {\n    verifyCheckoutSession(sessionId: $sessionId) {\n      __typename\n      ... on CheckoutResult {\n        mode\n        planKey\n        packKey\n        creditsGranted\n        subscriptionStatus\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation VerifyCheckout($sessionId: String!) {\n    verifyCheckoutSession(sessionId: $sessionId) {\n      __typename\n      ... on CheckoutResult {\n        mode\n        planKey\n        packKey\n        creditsGranted\n        subscriptionStatus\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation BillingPortal($returnUrl: String!) {\n    createBillingPortalSession(returnUrl: $returnUrl) {\n      __typename\n      ... on BillingPortalSession {\n        url\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation BillingPortal($returnUrl: String!) {\n    createBillingPortalSession(returnUrl: $returnUrl) {\n      __typename\n      ... on BillingPortalSession {\n        url\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query GenerationOptions {\n    imageGenerationOptions {\n      models\n      styles\n      aspectRatios\n      creditsPerImage\n      maxCount\n    }\n  }\n"): (typeof documents)["\n  query GenerationOptions {\n    imageGenerationOptions {\n      models\n      styles\n      aspectRatios\n      creditsPerImage\n      maxCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment GenerationFields on ImageGeneration {\n    id\n    prompt\n    status\n    type\n    model\n    style\n    aspectRatio\n    count\n    credits\n    errorMessage\n    createdAt\n    outputs {\n      id\n      url\n      width\n      height\n    }\n  }\n"): (typeof documents)["\n  fragment GenerationFields on ImageGeneration {\n    id\n    prompt\n    status\n    type\n    model\n    style\n    aspectRatio\n    count\n    credits\n    errorMessage\n    createdAt\n    outputs {\n      id\n      url\n      width\n      height\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateGeneration($input: CreateImageGenerationInput!) {\n    createImageGeneration(input: $input) {\n      __typename\n      ... on ImageGeneration {\n        ...GenerationFields\n      }\n      ... on InsufficientCreditsError {\n        required\n        available\n      }\n      ... on RateLimitedError {\n        retryAfterSeconds\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateGeneration($input: CreateImageGenerationInput!) {\n    createImageGeneration(input: $input) {\n      __typename\n      ... on ImageGeneration {\n        ...GenerationFields\n      }\n      ... on InsufficientCreditsError {\n        required\n        available\n      }\n      ... on RateLimitedError {\n        retryAfterSeconds\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Generation($id: ID!) {\n    imageGeneration(id: $id) {\n      ...GenerationFields\n    }\n  }\n"): (typeof documents)["\n  query Generation($id: ID!) {\n    imageGeneration(id: $id) {\n      ...GenerationFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query History($first: Int!, $after: String, $status: GenerationStatus, $type: GenerationType, $from: DateTime) {\n    viewer {\n      id\n      imageGenerations(first: $first, after: $after, status: $status, type: $type, from: $from) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        edges {\n          node {\n            ...GenerationFields\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query History($first: Int!, $after: String, $status: GenerationStatus, $type: GenerationType, $from: DateTime) {\n    viewer {\n      id\n      imageGenerations(first: $first, after: $after, status: $status, type: $type, from: $from) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        edges {\n          node {\n            ...GenerationFields\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteAccount {\n    deleteAccount {\n      __typename\n      ... on Deletion {\n        deletedAt\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation DeleteAccount {\n    deleteAccount {\n      __typename\n      ... on Deletion {\n        deletedAt\n      }\n      ... on Error {\n        message\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;