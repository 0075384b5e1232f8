-- AlterTable
ALTER TABLE "CreditBalance" ADD COLUMN     "allowanceNextTotal" INTEGER,
ADD COLUMN     "allowanceRenewsUntil" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Subscription" ADD COLUMN     "stripeFetchedAt" TIMESTAMP(3);
