import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * users.superseded_documents: the identity documents that verified a customer before a re-verification
 * replaced them, by their lookup hash (never the number). Approving a re-verification used to forget the
 * old document, so another user could then be verified with it without any flag: a customer's old
 * passport is the one most likely to be lost or stolen while still looking valid. KYC review counts it as
 * a duplicate (status `superseded`), so only an admin override approves it. Append-only for the apps, as
 * the audit log: no UPDATE or DELETE for protobank_runtime (its other privileges come from migration
 * 1763700000031's default privileges).
 */
export class SupersededDocuments1763700000033 implements MigrationInterface {
  name = 'SupersededDocuments1763700000033';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users.superseded_documents (
        user_id uuid NOT NULL REFERENCES users.users (id),
        document_number_hash bytea NOT NULL,
        document_type text NOT NULL CHECK (document_type IN ('passport', 'driving_licence', 'national_id')),
        country char(2) NOT NULL,
        superseded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, document_number_hash)
      )`);
    await q.query(
      `CREATE INDEX superseded_documents_hash_idx ON users.superseded_documents (document_number_hash)`,
    );
    await q.query(`REVOKE UPDATE, DELETE ON users.superseded_documents FROM protobank_runtime`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE users.superseded_documents`);
  }
}
