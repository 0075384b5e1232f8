const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether an id from outside can be a row id at all; PostgreSQL would reject anything else with an error. */
export const isUuid = (value: string): boolean => UUID.test(value);

/** Every idempotency key a client sends, whatever the call: the one rule, and the message that states it. */
export const IDEMPOTENCY_KEY = /^[\w.:-]{1,128}$/;
export const IDEMPOTENCY_KEY_RULE = 'must be 1-128 letters, digits, or . _ : -';
