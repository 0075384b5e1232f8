-- A hold in one round trip, as credit_deduct is a deduction: lock the balance, answer a used idempotency key with the
-- hold it made, check the price the caller computed against the current one, draw, then write the hold and its
-- ledger row. Anything it does not handle (no account yet, a period to roll over) is answered 'SLOW' with nothing
-- changed, and the caller runs the general path. Same rules as CreditsService.reserve in src/services/credits.ts.
-- The draw itself moves into credit_draw, which credit_deduct now calls too, so both take credits by one rule.

-- Takes p_amount from a balance the caller has locked: the allowance first, then grants soonest-expiring first
-- (LockedAccount.draw). Answers what was drawn ({fromAllowance, fromGrants}) and the balance after it; when the
-- credits are not there it changes nothing, answers a NULL draw, and says in spendable what could have been drawn.
CREATE FUNCTION "credit_draw"(
  p_balance "CreditBalance",
  p_amount integer,
  p_now timestamp(3),
  OUT draw jsonb,
  OUT balance_after "CreditBalance",
  OUT spendable integer
)
LANGUAGE plpgsql AS $$
DECLARE
  v_from_allowance integer;
  v_rest integer;
  v_draws jsonb := '[]'::jsonb;
  v_grant record;
  v_take integer;
  v_item jsonb;
BEGIN
  spendable := p_balance."allowanceRemaining" + p_balance."grantedRemaining";
  IF spendable < p_amount THEN
    RETURN;
  END IF;
  v_from_allowance := least(p_balance."allowanceRemaining", p_amount);
  v_rest := p_amount - v_from_allowance;
  IF v_rest > 0 THEN
    FOR v_grant IN
      SELECT id, remaining FROM "CreditGrant"
      WHERE "userId" = p_balance."userId" AND remaining > 0 AND "expiredAt" IS NULL
        AND ("expiresAt" IS NULL OR "expiresAt" > p_now)
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
      spendable := spendable - v_rest;
      RETURN;
    END IF;
    FOR v_item IN SELECT * FROM jsonb_array_elements(v_draws) LOOP
      UPDATE "CreditGrant" SET remaining = remaining - (v_item->>'amount')::integer WHERE id = (v_item->>'grantId')::uuid;
    END LOOP;
  END IF;

  UPDATE "CreditBalance"
  SET "allowanceRemaining" = "allowanceRemaining" - v_from_allowance,
      "grantedRemaining" = "grantedRemaining" - (p_amount - v_from_allowance),
      "updatedAt" = now() AT TIME ZONE 'UTC'
  WHERE "userId" = p_balance."userId"
  RETURNING * INTO balance_after;
  draw := jsonb_build_object('fromAllowance', v_from_allowance, 'fromGrants', v_draws);
END;
$$;

CREATE OR REPLACE FUNCTION "credit_deduct"(
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
  v_drawn record;
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

  SELECT * INTO v_drawn FROM "credit_draw"(v_balance, p_amount, p_now);
  IF v_drawn.draw IS NULL THEN
    RETURN QUERY SELECT 'INSUFFICIENT', v_drawn.spendable, NULL::integer, NULL::jsonb, NULL::jsonb;
    RETURN;
  END IF;
  v_balance := v_drawn.balance_after;

  INSERT INTO "CreditTransaction" (id, "userId", kind, operation, amount, "balanceAfter", "idempotencyKey", "requestHash", "apiKeyId", details, "createdAt")
  VALUES ("ledger_row_id"(), p_user, 'USAGE', p_operation, -p_amount, v_balance."allowanceRemaining" + v_balance."grantedRemaining", p_key, p_hash, p_api_key,
          p_details || v_drawn.draw, now() AT TIME ZONE 'UTC')
  RETURNING * INTO v_entry;

  RETURN QUERY SELECT 'DONE', NULL::integer, NULL::integer, to_jsonb(v_balance), to_jsonb(v_entry);
END;
$$;

CREATE FUNCTION "credit_reserve"(
  p_user uuid,
  p_operation text,
  p_unit_cost integer,
  p_amount integer,
  p_key text,
  p_hash text,
  p_owner "ReservationOwner",
  p_api_key uuid,
  p_generation uuid,
  p_details jsonb,
  p_ttl_seconds integer,
  p_now timestamp(3)
) RETURNS TABLE (outcome text, available integer, unit_cost integer, balance jsonb, entry jsonb, reservation jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  v_balance "CreditBalance";
  v_entry "CreditTransaction";
  v_hold "CreditReservation";
  v_cost integer;
  v_drawn record;
BEGIN
  SELECT * INTO v_balance FROM "CreditBalance" WHERE "userId" = p_user FOR UPDATE;
  IF NOT FOUND OR (v_balance."nextResetAt" <= p_now
      AND (v_balance."allowanceRenewsUntil" IS NULL OR v_balance."nextResetAt" < v_balance."allowanceRenewsUntil")) THEN
    RETURN QUERY SELECT 'SLOW', NULL::integer, NULL::integer, NULL::jsonb, NULL::jsonb, NULL::jsonb;
    RETURN;
  END IF;

  IF p_key IS NOT NULL THEN
    SELECT * INTO v_entry FROM "CreditTransaction" WHERE "userId" = p_user AND "idempotencyKey" = p_key;
    IF FOUND THEN
      SELECT * INTO v_hold FROM "CreditReservation" WHERE id = v_entry."reservationId";
      RETURN QUERY SELECT 'REPLAY', NULL::integer, NULL::integer, to_jsonb(v_balance), to_jsonb(v_entry), to_jsonb(v_hold);
      RETURN;
    END IF;
  END IF;

  SELECT cost INTO v_cost FROM "FeatureCost" WHERE operation = p_operation;
  IF v_cost IS DISTINCT FROM p_unit_cost THEN
    RETURN QUERY SELECT 'PRICE', NULL::integer, v_cost, NULL::jsonb, NULL::jsonb, NULL::jsonb;
    RETURN;
  END IF;

  SELECT * INTO v_drawn FROM "credit_draw"(v_balance, p_amount, p_now);
  IF v_drawn.draw IS NULL THEN
    RETURN QUERY SELECT 'INSUFFICIENT', v_drawn.spendable, NULL::integer, NULL::jsonb, NULL::jsonb, NULL::jsonb;
    RETURN;
  END IF;
  v_balance := v_drawn.balance_after;

  -- The column has no database default (Prisma makes its uuid(7) ids): a version 7 UUID is made here.
  INSERT INTO "CreditReservation" (id, "userId", operation, amount, "fromAllowance", "fromGrants", "periodStart", status, owner,
                                   "apiKeyId", "idempotencyKey", "expiresAt", details, "createdAt")
  VALUES ("ledger_row_id"(), p_user, p_operation, p_amount, (v_drawn.draw->>'fromAllowance')::integer, v_drawn.draw->'fromGrants',
          v_balance."periodStart", 'HELD', p_owner, p_api_key, p_key, p_now + make_interval(secs => p_ttl_seconds), p_details,
          now() AT TIME ZONE 'UTC')
  RETURNING * INTO v_hold;

  INSERT INTO "CreditTransaction" (id, "userId", kind, operation, amount, "balanceAfter", "reservationId", "generationId", "apiKeyId",
                                   "idempotencyKey", "requestHash", details, "createdAt")
  VALUES ("ledger_row_id"(), p_user, 'USAGE', p_operation, -p_amount, v_balance."allowanceRemaining" + v_balance."grantedRemaining",
          v_hold.id, p_generation, p_api_key, p_key, p_hash, jsonb_build_object('hold', true) || v_drawn.draw, now() AT TIME ZONE 'UTC')
  RETURNING * INTO v_entry;

  RETURN QUERY SELECT 'DONE', NULL::integer, NULL::integer, to_jsonb(v_balance), to_jsonb(v_entry), to_jsonb(v_hold);
END;
$$;
