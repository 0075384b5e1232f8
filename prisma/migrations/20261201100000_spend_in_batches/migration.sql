-- Several spends in one statement, for an instance with many waiting at once. Each item is exactly one credit_spend
-- call with the arguments it would have had alone; the batch only shares the statement and the transaction. Measured
-- with pgbench (users paying from a grant): ten spends a statement took 0.11 ms of machine CPU each, one a statement
-- 0.26 ms. Items run in the order of their users' ids, then of their ordinals, so batches running side by side take
-- the balance locks in one order and cannot deadlock each other. The answer is one row per item, named by its ordinal.
CREATE FUNCTION "credit_spend_many"(p_items jsonb)
RETURNS TABLE (ordinal integer, outcome text, available integer, unit_cost integer, balance jsonb, entry jsonb, reservation jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_item record;
BEGIN
  FOR v_item IN
    SELECT * FROM jsonb_to_recordset(p_items) AS item(
      ordinal integer, "user" uuid, operation text, unit_cost integer, amount integer, key text, hash text, api_key uuid,
      details jsonb, now timestamp(3), hold boolean, owner "ReservationOwner", generation uuid, ttl_seconds integer)
    ORDER BY item."user", item.ordinal
  LOOP
    RETURN QUERY
      SELECT v_item.ordinal, spent.*
      FROM "credit_spend"(v_item."user", v_item.operation, v_item.unit_cost, v_item.amount, v_item.key, v_item.hash,
                          v_item.api_key, v_item.details, v_item.now, v_item.hold, v_item.owner, v_item.generation,
                          v_item.ttl_seconds) spent;
  END LOOP;
END;
$$;
