import { runCommand, withServices } from './command.js';

// Checks, for every user, that the ledger sums to the balance and the grants sum to grantedRemaining.
runCommand(() =>
  withServices(async (services, prisma) => {
    const balances = await prisma.creditBalance.count();
    const mismatches = await services.credits.reconcile();
    for (const row of mismatches) {
      console.log(
        `MISMATCH user ${row.userId} (${row.email ?? 'no email'}): balance ${row.balance}, ledger sums to ${row.ledgerSum}; ` +
          `grantedRemaining ${row.grantedRemaining}, grants sum to ${row.grantsSum}`,
      );
    }
    console.log(`${balances} balances checked, ${mismatches.length} mismatched`);
    return mismatches.length ? 1 : 0;
  }),
);
