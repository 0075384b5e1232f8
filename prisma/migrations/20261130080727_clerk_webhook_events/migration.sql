-- CreateTable
CREATE TABLE "ClerkWebhookEvent" (
    "id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "clerkUserId" TEXT,
    "occurredAt" TIMESTAMP(3) NOT NULL,
    "status" "WebhookEventStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processedAt" TIMESTAMP(3),
    "nextAttemptAt" TIMESTAMP(3),

    CONSTRAINT "ClerkWebhookEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ClerkWebhookEvent_status_receivedAt_idx" ON "ClerkWebhookEvent"("status", "receivedAt");

-- CreateIndex
CREATE INDEX "ClerkWebhookEvent_clerkUserId_occurredAt_idx" ON "ClerkWebhookEvent"("clerkUserId", "occurredAt");
