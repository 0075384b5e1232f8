-- No query reads holds by (userId, createdAt): a user's holds are found through the unique (userId, idempotencyKey)
-- index, which leads with userId. Every hold paid for keeping it up: under pgbench (credit_spend holds, 50 clients, on
-- the PostgreSQL service) a hold took 1.05-1.13 ms of machine CPU without it against 1.13-1.22 ms with it.
DROP INDEX "CreditReservation_userId_createdAt_idx";
