import { randomBytes } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether an id from outside can be a row id at all; PostgreSQL would reject anything else with an error. */
export const isUuid = (value: string): boolean => UUID.test(value);

/** Every idempotency key a client sends, whatever the call: the one rule, and the message that states it. */
export const IDEMPOTENCY_KEY = /^[\w.:-]{1,128}$/;
export const IDEMPOTENCY_KEY_RULE = 'must be 1-128 letters, digits, or . _ : -';

let lastMillis = 0;
let sequence = 0;

/**
 * A version 7 UUID (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit counter within the millisecond, then
 * random bits, so ids made by this process sort in the order they were made, as Prisma's uuid(7) default does.
 */
export function uuidv7(now = Date.now()): string {
  if (now <= lastMillis) {
    sequence = (sequence + 1) & 0xfff;
    if (sequence === 0) lastMillis++;
  } else {
    lastMillis = now;
    sequence = randomBytes(2).readUInt16BE() & 0x3ff;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(lastMillis, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
