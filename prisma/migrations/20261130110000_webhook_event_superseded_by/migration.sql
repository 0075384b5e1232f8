-- AlterTable
ALTER TABLE "WebhookEvent" ADD COLUMN     "supersededBy" TEXT;
