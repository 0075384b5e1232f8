-- Confirming, releasing or expiring a hold reads the hold's own ledger row by "reservationId", which had no index:
-- every settlement read the whole ledger, under the user's balance lock. Only the rows of holds and their refunds have
-- a reservation, so the index leaves out every other row, and a deduction writes nothing more.
CREATE INDEX "CreditTransaction_reservationId_idx" ON "CreditTransaction"("reservationId") WHERE ("reservationId" IS NOT NULL);
