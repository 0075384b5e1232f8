import { getDatamodel } from '../generated/pothos-types.js';

let dateTimeFields: Map<string, string[]> | undefined;

function dateTimeFieldsOf(model: string): string[] {
  dateTimeFields ??= new Map(
    Object.entries(getDatamodel().datamodel.models).map(([name, { fields }]) => [
      name,
      fields.filter((field) => field.kind === 'scalar' && field.type === 'DateTime').map((field) => field.name),
    ]),
  );
  const fields = dateTimeFields.get(model);
  if (!fields) throw new Error(`No model ${model} in the Prisma schema`);
  return fields;
}

/**
 * A row of `model` that PostgreSQL built with to_jsonb, as Prisma would return it: DateTime columns (timestamp
 * without time zone, written in UTC) become Dates. Every other column type in the schema reads the same from JSON.
 */
export function rowFromJson<Row>(model: string, json: Record<string, unknown>): Row {
  const row: Record<string, unknown> = { ...json };
  for (const field of dateTimeFieldsOf(model)) {
    const value = row[field];
    if (typeof value === 'string') row[field] = new Date(`${value}Z`);
  }
  return row as Row;
}
