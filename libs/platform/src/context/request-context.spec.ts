import type { StaffRead } from '@protobank/contracts';
import { AppError } from '../errors/app-error';
import {
  acceptRequestId,
  assertMaySeeOwner,
  assertMaySeeOwners,
  assertNoColleagueRead,
  fileListRead,
  requestContext,
  roleOf,
  withoutColleagues,
} from './request-context';

describe('request context', () => {
  it('accepts only short request ids of safe characters', () => {
    expect(acceptRequestId('abc-123_x.y:z')).toBe('abc-123_x.y:z');
    expect(acceptRequestId('x'.repeat(129))).toBeUndefined();
    // Nothing shaped like a card number is logged or echoed: 16 Luhn-valid digits, alone, inside an id or
    // in groups of four; the same digits failing Luhn, a UUID and a 13-digit timestamp that fails it pass.
    for (const pan of [
      '5355221234567891',
      'req-5355221234567891-x',
      '5355-2212-3456-7891',
      '4111.1111.1111.1111',
    ])
      expect(acceptRequestId(pan)).toBeUndefined();
    for (const id of ['5355221234567897', '0e8fa2b4-1d2c-4a6b-9f00-123456789012', 'req-1733456789013'])
      expect(acceptRequestId(id)).toBe(id);
    expect(acceptRequestId('has space')).toBeUndefined();
    expect(acceptRequestId('line\nbreak')).toBeUndefined();
    expect(acceptRequestId(['a', 'b'])).toBeUndefined();
  });

  it('follows async work started inside it', async () => {
    const seen = await requestContext.run({ requestId: 'r-1' }, async () => {
      await new Promise((r) => setTimeout(r, 5));
      requestContext.setCaller({ user_id: 'u', role: 'customer' });
      return requestContext.current();
    });
    expect(seen).toEqual({ requestId: 'r-1', caller: { user_id: 'u', role: 'customer' } });
    expect(requestContext.current()).toBeUndefined();
  });

  describe("reads of a colleague's resources", () => {
    const roles: Record<string, 'customer' | 'staff' | 'admin'> = {
      cust: 'customer',
      colleague: 'staff',
      boss: 'admin',
    };
    const asked: string[] = [];
    const filed: StaffRead[] = [];
    const users = {
      getProfile: async (id: string) => {
        asked.push(id);
        if (!roles[id]) throw AppError.notFound('user');
        return { role: roles[id] };
      },
      // As users answers it: the known owners' roles, and the read filed for each of them unless the
      // reader is staff and every owner a known colleague.
      recordStaffRead: async (read: StaffRead) => {
        asked.push(...read.owner_ids);
        const owners = read.owner_ids.flatMap((id) => (roles[id] ? [{ user_id: id, role: roles[id] }] : []));
        const refused =
          read.actor.role === 'staff' &&
          owners.length === read.owner_ids.length &&
          owners.every((o) => o.role !== 'customer');
        if (!refused) filed.push(...owners.map((o) => ({ ...read, owner_ids: [o.user_id] })));
        return { owners };
      },
    };
    const read = { resource_type: 'account', resource_id: 'acc-1', viewed: 'statement' } as const;
    const see = (caller: { user_id: string; role: string }, owner: string) =>
      assertMaySeeOwner(caller, owner, users, read);
    const code = (p: Promise<void>) =>
      p.then(
        () => 'seen',
        (err: AppError) => `${err.status} ${err.code}`,
      );

    beforeEach(() => {
      asked.length = 0;
      filed.length = 0;
    });

    it("refuses a staff member a colleague's or an admin's (403 colleague_account, logged)", async () => {
      const staff = { user_id: 'me', role: 'staff' };
      expect(await code(see(staff, 'colleague'))).toBe('403 colleague_account');
      expect(await code(see(staff, 'boss'))).toBe('403 colleague_account');
      const refused = await see(staff, 'boss').catch((err: AppError) => err);
      expect(refused).toMatchObject({
        securityEvent: { user_id: 'me', actor_role: 'staff', owner_role: 'admin' },
      });
      expect(filed).toEqual([]);
    });

    it("lets a staff member see a customer's and their own, and an admin anyone's, each other's read filed", async () => {
      expect(await code(see({ user_id: 'me', role: 'staff' }, 'cust'))).toBe('seen');
      expect(await code(see({ user_id: 'colleague', role: 'staff' }, 'colleague'))).toBe('seen');
      expect(await code(see({ user_id: 'me', role: 'admin' }, 'colleague'))).toBe('seen');
      expect(await code(see({ user_id: 'me', role: 'admin' }, 'boss'))).toBe('seen');
      expect(await code(see({ user_id: 'me', role: 'customer' }, 'me'))).toBe('seen');
      // Users is asked (and files the read) for a staff member's or an admin's read of someone else's.
      expect(asked).toEqual(['cust', 'colleague', 'boss']);
      expect(filed).toEqual([
        { actor: { user_id: 'me', role: 'staff' }, owner_ids: ['cust'], ...read },
        { actor: { user_id: 'me', role: 'admin' }, owner_ids: ['colleague'], ...read },
        { actor: { user_id: 'me', role: 'admin' }, owner_ids: ['boss'], ...read },
      ]);
    });

    it("shows a staff member what is a customer's too (a transaction with a colleague), filed for both; refuses it when every owner is a colleague", async () => {
      const staff = { user_id: 'me', role: 'staff' };
      const entry = (owners: (string | null)[]) => code(assertMaySeeOwners(staff, owners, users, read));
      expect(await entry(['cust', 'colleague'])).toBe('seen');
      expect(filed.map((f) => f.owner_ids)).toEqual([['cust'], ['colleague']]);
      expect(await entry(['colleague', 'boss'])).toBe('403 colleague_account');
      expect(await entry(['colleague', null])).toBe('403 colleague_account');
      // The bank's own accounts on both sides, or the reader's own on one: not a read of anyone's data.
      asked.length = 0;
      expect(await entry([null, null])).toBe('seen');
      expect(await entry(['me', 'colleague'])).toBe('seen');
      expect(asked).toEqual([]);
      expect(filed).toHaveLength(2);
    });

    it("files a staff list's page once per owner but the reader, none of a customer's own, and refuses a page of colleagues only", async () => {
      const staff = { user_id: 'me', role: 'staff' };
      const list = (caller: { user_id: string; role: string }, owners: string[]) =>
        code(fileListRead(caller, owners, users, 'failed_payments'));
      expect(await list(staff, ['cust', 'me', 'cust', 'gone'])).toBe('seen');
      expect(filed).toEqual([
        { actor: staff, owner_ids: ['cust'], resource_type: 'user', viewed: 'failed_payments' },
      ]);
      expect(await list(staff, ['me'])).toBe('seen');
      expect(await list(staff, [])).toBe('seen');
      expect(await list({ user_id: 'cust', role: 'customer' }, ['cust'])).toBe('seen');
      expect(filed).toHaveLength(1);
      // Every owner on the page a colleague by now (made staff since the list left them out): refused.
      expect(await list(staff, ['colleague', 'me'])).toBe('403 colleague_account');
      expect(await list({ user_id: 'me', role: 'admin' }, ['colleague', 'me'])).toBe('seen');
      expect(filed.map((f) => f.owner_ids)).toEqual([['cust'], ['colleague']]);
    });

    it("refuses a staff member a colleague's before anything is read, filing nothing; lets anyone else by", async () => {
      const ask = (caller: { user_id: string; role: string }, owner: string) =>
        code(assertNoColleagueRead(caller, owner, users));
      const staff = { user_id: 'me', role: 'staff' };
      expect(await ask(staff, 'colleague')).toBe('403 colleague_account');
      expect(await ask(staff, 'boss')).toBe('403 colleague_account');
      expect(await ask(staff, 'cust')).toBe('seen');
      expect(await ask(staff, 'gone')).toBe('seen');
      expect(await ask({ user_id: 'colleague', role: 'staff' }, 'colleague')).toBe('seen');
      expect(await ask({ user_id: 'me', role: 'admin' }, 'boss')).toBe('seen');
      expect(await ask({ user_id: 'cust', role: 'customer' }, 'cust')).toBe('seen');
      // Users asked only for a staff member's read of someone else's; nothing filed.
      expect(asked).toEqual(['colleague', 'boss', 'cust', 'gone']);
      expect(filed).toEqual([]);
    });

    it("leaves a colleague's rows out of a staff member's list, asking once per owner; an admin's has all", async () => {
      const rows = ['cust', 'colleague', 'me', 'boss', 'gone', 'cust'].map((owner, i) => ({ i, owner }));
      const list = (caller: { user_id: string; role: string }) =>
        withoutColleagues(
          caller,
          rows,
          (r) => r.owner,
          (id) => roleOf(users, id),
        );
      expect((await list({ user_id: 'me', role: 'staff' })).map((r) => r.i)).toEqual([0, 2, 4, 5]);
      expect([...asked].sort()).toEqual(['boss', 'colleague', 'cust', 'gone']);
      expect(await list({ user_id: 'me', role: 'admin' })).toEqual(rows);
    });

    it('takes an owner users does not know as no colleague, and serves no read users could not file', async () => {
      expect(await code(see({ user_id: 'me', role: 'staff' }, 'gone'))).toBe('seen');
      const broken = {
        recordStaffRead: () => Promise.reject(new AppError(503, 'users_unavailable', 'down')),
      };
      const failed = assertMaySeeOwner({ user_id: 'me', role: 'admin' }, 'cust', broken, read);
      expect(await code(failed)).toBe('503 users_unavailable');
    });
  });
});
