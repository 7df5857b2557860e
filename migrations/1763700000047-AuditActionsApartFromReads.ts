import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * GET /admin/audit?kind=actions pages the staff actions without the reads (customer_data_viewed), newest
 * first. Reads may outnumber actions many times over (one entry per owner per read), so that page walks
 * an index of the actions alone rather than filtering the whole trail; the route's SQL names the same
 * predicate as a literal, which is what lets the planner use this partial index.
 */
export class AuditActionsApartFromReads1763700000047 implements MigrationInterface {
  name = 'AuditActionsApartFromReads1763700000047';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX audit_log_actions_idx ON users.audit_log (created_at DESC, id DESC)
        WHERE action <> 'customer_data_viewed'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX users.audit_log_actions_idx');
  }
}
