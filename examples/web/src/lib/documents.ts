import { graphql } from '@/gql';

export const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      id
      email
      name
      role
      tier
      creditBalance {
        total
        allowanceTotal
        allowanceRemaining
        usedThisPeriod
        grantedRemaining
        periodStart
        nextResetAt
      }
      subscription {
        status
        cancelAtPeriodEnd
        currentPeriodEnd
        plan {
          name
        }
      }
    }
  }
`);

export const PricingQuery = graphql(`
  query Pricing {
    plans {
      id
      key
      name
      description
      badge
      highlight
      features
      tier
      creditsPerPeriod
      monthlyPriceCents
      yearlyPriceCents
      currency
      callToAction {
        type
        label
        url
      }
    }
    creditPacks {
      id
      key
      name
      description
      badge
      credits
      priceCents
      currency
      expiresInDays
    }
  }
`);

export const CreateCheckoutMutation = graphql(`
  mutation CreateCheckout($input: CreateCheckoutSessionInput!) {
    createCheckoutSession(input: $input) {
      __typename
      ... on CheckoutSession {
        sessionId
        url
      }
      ... on Error {
        message
      }
    }
  }
`);

export const VerifyCheckoutMutation = graphql(`
  mutation VerifyCheckout($sessionId: String!) {
    verifyCheckoutSession(sessionId: $sessionId) {
      __typename
      ... on CheckoutResult {
        mode
        planKey
        packKey
        creditsGranted
        subscriptionStatus
      }
      ... on Error {
        message
      }
    }
  }
`);

export const BillingPortalMutation = graphql(`
  mutation BillingPortal($returnUrl: String!) {
    createBillingPortalSession(returnUrl: $returnUrl) {
      __typename
      ... on BillingPortalSession {
        url
      }
      ... on Error {
        message
      }
    }
  }
`);

export const GenerationOptionsQuery = graphql(`
  query GenerationOptions {
    imageGenerationOptions {
      models
      styles
      aspectRatios
      creditsPerImage
      maxCount
    }
  }
`);

export const GenerationFields = graphql(`
  fragment GenerationFields on ImageGeneration {
    id
    prompt
    status
    type
    model
    style
    aspectRatio
    count
    credits
    errorMessage
    createdAt
    outputs {
      id
      url
      width
      height
    }
  }
`);

export const CreateGenerationMutation = graphql(`
  mutation CreateGeneration($input: CreateImageGenerationInput!) {
    createImageGeneration(input: $input) {
      __typename
      ... on ImageGeneration {
        ...GenerationFields
      }
      ... on InsufficientCreditsError {
        required
        available
      }
      ... on RateLimitedError {
        retryAfterSeconds
      }
      ... on Error {
        message
      }
    }
  }
`);

export const GenerationQuery = graphql(`
  query Generation($id: ID!) {
    imageGeneration(id: $id) {
      ...GenerationFields
    }
  }
`);

export const HistoryQuery = graphql(`
  query History($first: Int!, $after: String, $status: GenerationStatus, $type: GenerationType, $from: DateTime) {
    viewer {
      id
      imageGenerations(first: $first, after: $after, status: $status, type: $type, from: $from) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            ...GenerationFields
          }
        }
      }
    }
  }
`);

export const DeleteAccountMutation = graphql(`
  mutation DeleteAccount {
    deleteAccount {
      __typename
      ... on Deletion {
        deletedAt
      }
      ... on Error {
        message
      }
    }
  }
`);
