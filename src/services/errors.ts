/**
 * Failures a client can act on. The GraphQL layer exposes each as a member of a result union; anything that is
 * not a DomainError is unexpected, logged with the request id and masked.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
}

export class ValidationError extends DomainError {
  readonly code = 'VALIDATION_FAILED';
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ValidationError';
  }

  static forField(path: string, message: string) {
    return new ValidationError(`${path}: ${message}`, [{ path, message }]);
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  constructor(
    readonly resource: string,
    readonly id?: string,
  ) {
    super(id ? `${resource} ${id} was not found` : `${resource} was not found`);
    this.name = 'NotFoundError';
  }
}

export class ForbiddenError extends DomainError {
  readonly code = 'FORBIDDEN';
  constructor(message = 'You are not allowed to do this') {
    super(message);
    this.name = 'ForbiddenError';
  }
}

export class InsufficientCreditsError extends DomainError {
  readonly code = 'INSUFFICIENT_CREDITS';
  constructor(
    readonly required: number,
    readonly available: number,
  ) {
    super(`This needs ${required} credits but only ${available} are available`);
    this.name = 'InsufficientCreditsError';
  }
}

export class RateLimitedError extends DomainError {
  readonly code = 'RATE_LIMITED';
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many requests; try again in ${retryAfterSeconds} seconds`);
    this.name = 'RateLimitedError';
  }
}

export class ConflictError extends DomainError {
  readonly code = 'CONFLICT';
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

export class ClerkWebhooksNotConfiguredError extends DomainError {
  readonly code = 'CLERK_WEBHOOKS_NOT_CONFIGURED';
  constructor() {
    super('Clerk webhooks are not configured on this server (CLERK_WEBHOOK_SECRET is not set)');
    this.name = 'ClerkWebhooksNotConfiguredError';
  }
}

export class BillingNotConfiguredError extends DomainError {
  readonly code = 'BILLING_NOT_CONFIGURED';
  constructor() {
    super('Billing is not configured on this server (STRIPE_SECRET_KEY is not set)');
    this.name = 'BillingNotConfiguredError';
  }
}

export class AuthenticationError extends DomainError {
  readonly code = 'UNAUTHENTICATED';
  constructor(message: string) {
    super(message);
    this.name = 'AuthenticationError';
  }
}

/** The account is banned: every request it makes is refused, whatever it asks for. */
export class AccountBannedError extends DomainError {
  readonly code = 'ACCOUNT_BANNED';
  constructor(readonly reason: string | null) {
    super(reason ? `This account is banned: ${reason}` : 'This account is banned');
    this.name = 'AccountBannedError';
  }
}

export class WebhookSignatureError extends DomainError {
  readonly code = 'WEBHOOK_SIGNATURE_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'WebhookSignatureError';
  }
}

export class IdempotencyConflictError extends DomainError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  constructor() {
    super('idempotencyKey was already used for a different request; use a new key for a new request');
    this.name = 'IdempotencyConflictError';
  }
}

/** The identity provider's keys cannot be fetched: the token may be fine, so the client should retry. */
export class AuthenticationUnavailableError extends DomainError {
  readonly code = 'AUTHENTICATION_UNAVAILABLE';
  constructor(readonly retryAfterSeconds = 30) {
    super('Tokens cannot be verified right now (the identity provider does not answer); try again shortly');
    this.name = 'AuthenticationUnavailableError';
  }
}

export class WebhookPayloadError extends DomainError {
  readonly code = 'WEBHOOK_PAYLOAD_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'WebhookPayloadError';
  }
}
