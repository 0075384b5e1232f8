import { auditLogWhere } from '../services/audit.js';
import { builder } from '../schema/builder.js';
import { AuditLogEntryNode } from '../schema/audit.js';
import { connectionTypes } from '../schema/connections.js';
import { UserNode } from '../schema/users.js';

builder.queryFields((t) => ({
  adminAuditLog: t.withAuth({ admin: true }).prismaConnection(
    {
      type: AuditLogEntryNode,
      cursor: 'id',
      maxSize: 100,
      defaultSize: 20,
      description: 'Admin: the audit trail of admin actions and operator commands, newest first, filtered by the arguments given (all must match)',
      args: {
        actorId: t.arg.globalID({ required: false, for: UserNode, description: 'Only actions by this admin (global user id)' }),
        target: t.arg.globalID({ required: false, description: 'Only actions on this object (its global id)' }),
        action: t.arg.string({ required: false, description: 'Only this action, e.g. user.setRole' }),
        from: t.arg({ type: 'DateTime', required: false, description: 'Done at or after' }),
        to: t.arg({ type: 'DateTime', required: false, description: 'Done before' }),
      },
      totalCount: (_parent, args, context) => context.prisma.adminAuditLog.count({ where: filterOf(args) }),
      resolve: (query, _root, args, context) =>
        context.prisma.adminAuditLog.findMany({ ...query, where: filterOf(args), orderBy: { id: 'desc' } }),
    },
    ...connectionTypes('AuditLogEntry', 'audit log entries'),
  ),
}));

function filterOf(args: {
  actorId?: { id: string } | null;
  target?: { typename: string; id: string } | null;
  action?: string | null;
  from?: Date | null;
  to?: Date | null;
}) {
  return auditLogWhere({
    actorId: args.actorId?.id,
    target: args.target ? { type: args.target.typename, id: args.target.id } : null,
    action: args.action,
    from: args.from,
    to: args.to,
  });
}
