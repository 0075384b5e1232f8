-- A spend checks, in its own statement, that the user it spends for may still be served: it exists, is not deleted
-- and is not banned. The caller's own check (the signed-in user read when the request was authenticated, possibly
-- remembered from an earlier request, or a service key's read of the user) may be older than a ban; the one that
-- counts is the one made where the credits move. A refused spend changes nothing and answers USER_GONE or
-- USER_BANNED. Checked before the balance is locked, so it also holds for the general path a 'SLOW' answer leads to.
-- Both functions now begin with the same steps, credit_spend_start, instead of a copy each.
CREATE FUNCTION "credit_spender_refusal"(p_user uuid) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN u.id IS NULL OR u."deletedAt" IS NOT NULL THEN 'USER_GONE'
    WHEN u.role = 'BANNED' THEN 'USER_BANNED'
  END
  FROM (SELECT p_user AS id) wanted LEFT JOIN "User" u ON u.id = wanted.id
$$;

-- How every one-call spend starts: the user may still be served, their balance is locked, and no period is due to roll
-- over. Answers the refusal or 'SLOW' (nothing locked that matters: the caller returns at once), or NULL and the
-- locked balance.
CREATE FUNCTION "credit_spend_start"(p_user uuid, p_now timestamp(3), OUT outcome text, OUT balance "CreditBalance")
LANGUAGE plpgsql AS $$
BEGIN
  outcome := "credit_spender_refusal"(p_user);
  IF outcome IS NOT NULL THEN
    RETURN;
  END IF;
  SELECT * INTO balance FROM "CreditBalance" WHERE "userId" = p_user FOR UPDATE;
  IF NOT FOUND OR (balance."nextResetAt" <= p_now
      AND (balance."allowanceRenewsUntil" IS NULL OR balance."nextResetAt" < balance."allowanceRenewsUntil")) THEN
    outcome := 'SLOW';
  END IF;
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
  v_start record;
BEGIN
  SELECT * INTO v_start FROM "credit_spend_start"(p_user, p_now);
  IF v_start.outcome IS NOT NULL THEN
    RETURN QUERY SELECT v_start.outcome, NULL::integer, NULL::integer, NULL::jsonb, NULL::jsonb;
    RETURN;
  END IF;
  v_balance := v_start.balance;

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

CREATE OR REPLACE FUNCTION "credit_reserve"(
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
  v_start record;
BEGIN
  SELECT * INTO v_start FROM "credit_spend_start"(p_user, p_now);
  IF v_start.outcome IS NOT NULL THEN
    RETURN QUERY SELECT v_start.outcome, NULL::integer, NULL::integer, NULL::jsonb, NULL::jsonb, NULL::jsonb;
    RETURN;
  END IF;
  v_balance := v_start.balance;

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
