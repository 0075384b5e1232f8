const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether an id from outside can be a row id at all; PostgreSQL would reject anything else with an error. */
export const isUuid = (value: string): boolean => UUID.test(value);
