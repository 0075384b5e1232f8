import type { builder } from './builder.js';

/** The `t` an input type's `fields` receives, for field lists shared by several input types. */
export type InputFields = Parameters<NonNullable<Parameters<typeof builder.inputType>[1]['fields']>>[0];
