/**
 * A database fault of a test's own making: every UPDATE of `table` whose rows match `when` (a trigger's
 * WHEN condition over OLD and NEW) fails in Postgres, as a database that cannot take the change would,
 * until the returned function drops the trigger. Other rows, and other statements, are untouched.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';

export async function failUpdates(db: Client, table: string, when: string): Promise<() => Promise<void>> {
  const name = `test_fail_updates_${randomBytes(6).toString('hex')}`;
  await db.query(
    `CREATE FUNCTION public.${name}() RETURNS trigger LANGUAGE plpgsql AS
       $$ BEGIN RAISE EXCEPTION 'test: this change fails in the database'; END $$`,
  );
  const drop = async () => {
    await db.query(`DROP TRIGGER IF EXISTS ${name} ON ${table}`);
    await db.query(`DROP FUNCTION IF EXISTS public.${name}()`);
  };
  try {
    await db.query(
      `CREATE TRIGGER ${name} BEFORE UPDATE ON ${table} FOR EACH ROW WHEN (${when})
         EXECUTE FUNCTION public.${name}()`,
    );
  } catch (err) {
    await drop();
    throw err;
  }
  return drop;
}
