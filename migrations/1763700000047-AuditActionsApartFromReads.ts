import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexConcurrently } from './concurrent-index';

/**
 * GET /admin/audit?kind=actions pages the staff actions without the reads (customer_data_viewed), newest
 * first. Reads may outnumber actions many times over (one entry per owner per read), so that page walks
 * an index of the actions alone rather than filtering the whole trail; the route's SQL names the same
 * predicate as a literal, which is what lets the planner use this partial index. Built CONCURRENTLY,
 * outside a transaction, as 1763700000029 does: every staff read is filed in this table before it is
 * shown, and a plain CREATE INDEX would hold them all off while it builds.
 */
export class AuditActionsApartFromReads1763700000047 implements MigrationInterface {
  name = 'AuditActionsApartFromReads1763700000047';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await createIndexConcurrently(
      q,
      'users',
      'audit_log_actions_idx',
      `users.audit_log (created_at DESC, id DESC) WHERE action <> 'customer_data_viewed'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // A revert runs in a transaction, where CONCURRENTLY is not allowed; dropping is quick anyway.
    await q.query('DROP INDEX users.audit_log_actions_idx');
  }
}
