-- A deduction in one round trip: lock the balance, answer a used idempotency key, check the price the caller
-- computed against the current one, draw from the allowance then grants (soonest-expiring first), append the
-- ledger row. Anything it does not handle (no account yet, a period to roll over) is answered 'SLOW' with nothing
-- changed, and the caller runs the general path. Same rules as LockedAccount in src/services/credits.ts.
-- A ledger row's id, made after the balance is locked: a version 7 UUID whose 12 bits after the milliseconds hold
-- the fraction of the millisecond (RFC 9562, method 3), so one user's rows sort by id in the order they were written
-- under the lock, whichever instance wrote them. An id made before the lock could sort before a row that committed
-- first, and the newest row's balanceAfter would no longer be the balance.
CREATE FUNCTION "ledger_row_id"() RETURNS uuid
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_micros bigint := floor(extract(epoch FROM clock_timestamp()) * 1000000);
BEGIN
  RETURN (
    lpad(to_hex(v_micros / 1000), 12, '0')
    || '7' || lpad(to_hex(((v_micros % 1000) * 4096 / 1000)::int), 3, '0')
    || to_hex(8 + floor(random() * 4)::int) || substr(md5(random()::text || v_micros::text), 1, 15)
  )::uuid;
END;
$$;

CREATE FUNCTION "credit_deduct"(
  p_user uuid,
  p_operation text,
  p_unit_cost integer,
  p_amount integer,
  p_key text,
  p_hash text,
  p_api_key uuid,
  p_details jsonb,
  p_now timestamp(3)
) RETURNS TABLE (outcome text, available integer, unit_cost integer, balance jsonb, entry jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  v_balance "CreditBalance";
  v_entry "CreditTransaction";
  v_cost integer;
  v_from_allowance integer;
  v_rest integer;
  v_draws jsonb := '[]'::jsonb;
  v_grant record;
  v_take integer;
  v_draw jsonb;
BEGIN
  SELECT * INTO v_balance FROM "CreditBalance" WHERE "userId" = p_user FOR UPDATE;
  IF NOT FOUND OR (v_balance."nextResetAt" <= p_now
      AND (v_balance."allowanceRenewsUntil" IS NULL OR v_balance."nextResetAt" < v_balance."allowanceRenewsUntil")) THEN
    RETURN QUERY SELECT 'SLOW', NULL::integer, NULL::integer, NULL::jsonb, NULL::jsonb;
    RETURN;
  END IF;

  IF p_key IS NOT NULL THEN
    SELECT * INTO v_entry FROM "CreditTransaction" WHERE "userId" = p_user AND "idempotencyKey" = p_key;
    IF FOUND THEN
      RETURN QUERY SELECT 'REPLAY', NULL::integer, NULL::integer, to_jsonb(v_balance), to_jsonb(v_entry);
      RETURN;
    END IF;
  END IF;

  -- The price is read under the same snapshot as the spend: a cost changed and committed before this statement
  -- started is the one that counts, whatever the caller had cached.
  SELECT cost INTO v_cost FROM "FeatureCost" WHERE operation = p_operation;
  IF v_cost IS DISTINCT FROM p_unit_cost THEN
    RETURN QUERY SELECT 'PRICE', NULL::integer, v_cost, NULL::jsonb, NULL::jsonb;
    RETURN;
  END IF;

  IF v_balance."allowanceRemaining" + v_balance."grantedRemaining" < p_amount THEN
    RETURN QUERY SELECT 'INSUFFICIENT', v_balance."allowanceRemaining" + v_balance."grantedRemaining", NULL::integer, NULL::jsonb, NULL::jsonb;
    RETURN;
  END IF;
  v_from_allowance := least(v_balance."allowanceRemaining", p_amount);
  v_rest := p_amount - v_from_allowance;
  IF v_rest > 0 THEN
    FOR v_grant IN
      SELECT id, remaining FROM "CreditGrant"
      WHERE "userId" = p_user AND remaining > 0 AND "expiredAt" IS NULL AND ("expiresAt" IS NULL OR "expiresAt" > p_now)
      ORDER BY "expiresAt" ASC NULLS LAST, "createdAt" ASC
      FOR UPDATE
    LOOP
      EXIT WHEN v_rest = 0;
      v_take := least(v_grant.remaining, v_rest);
      v_draws := v_draws || jsonb_build_array(jsonb_build_object('grantId', v_grant.id, 'amount', v_take));
      v_rest := v_rest - v_take;
    END LOOP;
    -- grantedRemaining counts a grant that is past its expiry but not yet written off.
    IF v_rest > 0 THEN
      RETURN QUERY SELECT 'INSUFFICIENT', v_balance."allowanceRemaining" + v_balance."grantedRemaining" - v_rest, NULL::integer, NULL::jsonb, NULL::jsonb;
      RETURN;
    END IF;
    FOR v_draw IN SELECT * FROM jsonb_array_elements(v_draws) LOOP
      UPDATE "CreditGrant" SET remaining = remaining - (v_draw->>'amount')::integer WHERE id = (v_draw->>'grantId')::uuid;
    END LOOP;
  END IF;

  UPDATE "CreditBalance"
  SET "allowanceRemaining" = "allowanceRemaining" - v_from_allowance,
      "grantedRemaining" = "grantedRemaining" - (p_amount - v_from_allowance),
      "updatedAt" = now() AT TIME ZONE 'UTC'
  WHERE "userId" = p_user
  RETURNING * INTO v_balance;

  INSERT INTO "CreditTransaction" (id, "userId", kind, operation, amount, "balanceAfter", "idempotencyKey", "requestHash", "apiKeyId", details, "createdAt")
  VALUES ("ledger_row_id"(), p_user, 'USAGE', p_operation, -p_amount, v_balance."allowanceRemaining" + v_balance."grantedRemaining", p_key, p_hash, p_api_key,
          p_details || jsonb_build_object('fromAllowance', v_from_allowance, 'fromGrants', v_draws), now() AT TIME ZONE 'UTC')
  RETURNING * INTO v_entry;

  RETURN QUERY SELECT 'DONE', NULL::integer, NULL::integer, to_jsonb(v_balance), to_jsonb(v_entry);
END;
$$;
