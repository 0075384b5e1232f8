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

export interface AuditLogFilter {
  actorId?: string | null;
  target?: { type: string; id: string } | null;
  action?: string | null;
  from?: Date | null;
  to?: Date | null;
}

/** The audit rows matching every filter given; `from` is inclusive, `to` exclusive. */
export function auditLogWhere(filter: AuditLogFilter): Prisma.AdminAuditLogWhereInput {
  return {
    ...(filter.actorId ? { actorId: filter.actorId } : {}),
    ...(filter.target ? { targetType: filter.target.type, targetId: filter.target.id } : {}),
    ...(filter.action ? { action: filter.action } : {}),
    ...(filter.from || filter.to
      ? { createdAt: { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lt: filter.to } : {}) } }
      : {}),
  };
}
