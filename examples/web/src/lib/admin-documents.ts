import { graphql } from '@/gql';

export const AdminCatalogQuery = graphql(`
  query AdminCatalog {
    allPlans {
      id
      key
      name
      active
      badge
      highlight
      creditsPerPeriod
      monthlyPriceCents
      currency
    }
    featureCosts {
      operation
      cost
      description
    }
  }
`);

export const UpdatePlanMutation = graphql(`
  mutation AdminUpdatePlan($key: String!, $input: PlanUpdateInput!) {
    updatePlan(key: $key, input: $input) {
      __typename
      ... on Plan {
        id
        badge
        highlight
        creditsPerPeriod
      }
      ... on Error {
        message
      }
    }
  }
`);

export const SetFeatureCostsMutation = graphql(`
  mutation AdminSetFeatureCosts($costs: [FeatureCostInput!]!) {
    setFeatureCosts(costs: $costs) {
      __typename
      ... on SetFeatureCostsSuccess {
        data {
          operation
          cost
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

export const AdminUsersQuery = graphql(`
  query AdminUsers($search: String, $role: Role) {
    users(first: 50, search: $search, role: $role) {
      totalCount
      edges {
        node {
          id
          email
          name
          role
          tier
          creditBalance {
            total
          }
        }
      }
    }
  }
`);

export const SetUserRoleMutation = graphql(`
  mutation AdminSetUserRole($userId: ID!, $role: Role!, $reason: String) {
    setUserRole(userId: $userId, role: $role, reason: $reason) {
      __typename
      ... on User {
        id
        role
      }
      ... on Error {
        message
      }
    }
  }
`);

export const GrantCreditsMutation = graphql(`
  mutation AdminGrantCredits($userId: ID!, $amount: Int!, $reason: String!) {
    grantCredits(userId: $userId, amount: $amount, reason: $reason) {
      __typename
      ... on CreditMovement {
        balance {
          total
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

export const FailedWebhooksQuery = graphql(`
  query AdminFailedWebhooks {
    failedWebhookEvents(first: 50) {
      totalCount
      edges {
        node {
          id
          stripeEventId
          type
          attempts
          lastError
          receivedAt
          status
        }
      }
    }
  }
`);

export const ReplayWebhookMutation = graphql(`
  mutation AdminReplayWebhook($eventId: String!) {
    replayWebhookEvent(eventId: $eventId) {
      __typename
      ... on WebhookEvent {
        id
        status
      }
      ... on Error {
        message
      }
    }
  }
`);
