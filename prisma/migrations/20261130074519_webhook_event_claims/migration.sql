-- AlterTable
ALTER TABLE "WebhookEvent" ADD COLUMN     "claimedBy" TEXT,
ADD COLUMN     "claimedUntil" TIMESTAMP(3),
ADD COLUMN     "orderingKey" TEXT;

-- CreateIndex
CREATE INDEX "WebhookEvent_status_stripeCreated_idx" ON "WebhookEvent"("status", "stripeCreated");

-- CreateIndex
CREATE INDEX "WebhookEvent_orderingKey_stripeCreated_idx" ON "WebhookEvent"("orderingKey", "stripeCreated");

-- Events stored before this migration order by the same rule the service applies when it stores one.
UPDATE "WebhookEvent" SET "orderingKey" = COALESCE(
  CASE jsonb_typeof("payload"->'data'->'object'->'customer')
    WHEN 'string' THEN "payload"->'data'->'object'->>'customer'
    WHEN 'object' THEN "payload"->'data'->'object'->'customer'->>'id'
  END,
  CASE WHEN "payload"->'data'->'object'->>'object' = 'price' AND jsonb_typeof("payload"->'data'->'object'->'product') = 'string'
    THEN "payload"->'data'->'object'->>'product'
  END,
  "payload"->'data'->'object'->>'id'
)
WHERE "orderingKey" IS NULL;

-- Workers wait on these channels instead of polling: a stored (or replayed) event, a queued generation.
CREATE FUNCTION "notify_webhook_event_pending"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('webhook_event_pending', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER "WebhookEvent_notify_pending"
  AFTER INSERT OR UPDATE OF "status" ON "WebhookEvent"
  FOR EACH ROW WHEN (NEW."status" = 'PENDING')
  EXECUTE FUNCTION "notify_webhook_event_pending"();

CREATE FUNCTION "notify_generation_pending"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('generation_pending', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER "ImageGeneration_notify_pending"
  AFTER INSERT ON "ImageGeneration"
  FOR EACH ROW WHEN (NEW."status" = 'PENDING')
  EXECUTE FUNCTION "notify_generation_pending"();

-- Events a worker held when this was deployed are taken over when the old 15-minute rule would have swept them.
UPDATE "WebhookEvent" SET "claimedUntil" = "receivedAt" + interval '15 minutes' WHERE "status" = 'PROCESSING' AND "claimedUntil" IS NULL;
