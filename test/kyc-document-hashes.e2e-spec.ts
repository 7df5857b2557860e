/**
 * KYC submissions stored before lookup hashes existed have only their ciphertext, and a migration has no
 * key: the users module fills their hashes in when it starts, in batches, leaving a row it cannot decrypt
 * as it was (and saying so) without stopping.
 */
import type { INestApplicationContext } from '@nestjs/common';
import { ConfigSource } from '@protobank/platform';
import { AuthContract } from '@protobank/contracts';
import { UsersConfig, UsersModule } from '@protobank/users';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from 'pg';
import { DocumentCipher } from '../libs/users/src/kyc/document-cipher';
import { createContext } from './support/contexts';
import { processes } from './support/processes';
import { createTestEnv, eventually, type TestEnv } from './support/test-env';

describe('KYC document lookup hashes of older submissions', () => {
  let t: TestEnv;
  let db: Client;
  let app: INestApplicationContext | undefined;

  beforeAll(async () => {
    t = await createTestEnv('kyc_hashes');
    await processes.runOnce('migrate', t.env, { logFile: join(t.logDir, 'migrate.log') });
    db = await t.db();
  });

  afterAll(async () => {
    await app?.close();
    await t?.cleanup();
  });

  it('are filled in at start-up, in batches, skipping a row that does not decrypt', async () => {
    const cipher = new DocumentCipher(new ConfigSource(t.env).load(UsersConfig));
    // More rows than one batch, as the migration leaves them: ciphertext, no hash.
    const rows = Array.from({ length: 450 }, (_, i) => {
      const userId = randomUUID();
      const number = `P${String(100000000 + i)}`;
      return { userId, number, encrypted: cipher.encrypt(number, userId) };
    });
    const damaged = randomUUID();
    rows.push({ userId: damaged, number: 'X', encrypted: cipher.encrypt('P999999999', randomUUID()) });
    await db.query(
      `INSERT INTO users.kyc (user_id, status, document_type, document_number_encrypted, document_number_last3,
                              country, full_name, date_of_birth, submitted_at)
       SELECT u, 'verified', 'passport', e, '000', 'GB', 'Legacy Customer', '1990-04-12', now()
         FROM unnest($1::uuid[], $2::text[]) AS v(u, e)`,
      [rows.map((r) => r.userId), rows.map((r) => r.encrypted)],
    );

    // The users app as deployed: it calls auth (to end sessions), a binding this test never uses.
    app = await createContext({
      service: 'users',
      transport: 'rmq',
      env: t.env,
      modules: [UsersModule],
      calls: [AuthContract],
    });

    const missing = await eventually(
      async () => {
        const r = await db.query('SELECT user_id FROM users.kyc WHERE document_number_hash IS NULL');
        return r.rows.length === 1 ? r.rows.map((x: { user_id: string }) => x.user_id) : undefined;
      },
      20000,
      'every readable row to be hashed',
    );
    expect(missing).toEqual([damaged]);
    const stored = await db.query(
      'SELECT user_id, document_number_hash FROM users.kyc WHERE user_id = ANY($1)',
      [rows.slice(0, 5).map((r) => r.userId)],
    );
    for (const row of stored.rows as { user_id: string; document_number_hash: Buffer }[]) {
      const number = rows.find((r) => r.userId === row.user_id)!.number;
      expect(row.document_number_hash.equals(cipher.lookupHash(number))).toBe(true);
    }
  });
});
