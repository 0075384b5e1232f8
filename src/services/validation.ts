import { z } from 'zod';
import { ValidationError } from './errors.js';
import { IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_RULE } from './ids.js';

/**
 * The one way a service checks what a client sent: a zod schema the service owns, parsed here. Every problem comes
 * back at once in one ValidationError that names each field by its path; GraphQL answers it as the ValidationError
 * member of the field's result union (top-level VALIDATION_FAILED on the few query fields without one). Checks that
 * need the database or the caller (an unknown operation, a capture above what is held, an admin's own role) throw
 * ValidationError.forField, which has the same shape.
 */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  throw new ValidationError(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '), issues);
}

export const integerBetween = (min: number, max: number, message = `must be an integer between ${min} and ${max}`) =>
  z.number({ error: message }).int(message).min(min, message).max(max, message);

export const textOfAtMost = (max: number) => z.string().max(max, `must be at most ${max} characters`);

/** The reason an admin gives for an action, kept in the audit log. */
export const auditReason = textOfAtMost(500);

export const idempotencyKey = z.string().regex(IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_RULE);

/** A JSON object a client stores with us, bounded by its serialised size. */
export const jsonObjectOfAtMost = (bytes: number) =>
  z
    .record(z.string(), z.unknown())
    .refine((value) => Buffer.byteLength(JSON.stringify(value)) <= bytes, `must be at most ${bytes} bytes of JSON`);
