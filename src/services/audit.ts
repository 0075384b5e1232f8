import type { Prisma } from '../generated/prisma/client.js';
import type { DbOrTx } from '../db/client.js';

export interface AdminAction {
  /** Null when the action came from a command run by an operator, not from a signed-in admin. */
  actorId: string | null;
  action: string;
  targetType: string;
  targetId?: string | null;
  data?: Prisma.InputJsonValue;
}

export function recordAdminAction(db: DbOrTx, action: AdminAction) {
  return db.adminAuditLog.create({
    data: {
      actorId: action.actorId,
      action: action.action,
      targetType: action.targetType,
      targetId: action.targetId ?? null,
      data: action.data ?? {},
    },
  });
}
