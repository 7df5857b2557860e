import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type CreateUserInput, type UserContactChangedEvent, type UserView } from '@protobank/contracts';
import { AppConfig, AppError, OutboxService, RateLimiter, todayIn } from '@protobank/platform';
import { DataSource } from 'typeorm';
import { assertAdultBirthDate, KycService } from '../kyc/kyc.service';
import type { UpdateProfileDto } from './profile.dto';
import { UserEntity, type Address } from './user.entity';

export const toView = (u: UserEntity): UserView => ({
  id: u.id,
  email: u.email,
  full_name: u.full_name,
  latin_name: u.latin_name,
  role: u.role,
  created_at: u.created_at.toISOString(),
  disabled: u.disabled_at !== null,
});

type ContactChanges = UserContactChangedEvent['changes'];

/** Changes of the phone number, or of the address, told to their owner in a day. */
const CONTACT_NOTICES = 5;
const DAY_SECONDS = 86_400;

/** An address as it is stored: its country in upper case. */
const storedAddress = (address: Address | null): Address | null =>
  address && { ...address, country: address.country.toUpperCase() };

/** Whether a contact field's new stored value is its old one (an address compared field by field). */
function sameValue(next: string | Address | null, stored: string | Address | null): boolean {
  if (next === null || stored === null || typeof next === 'string') return next === stored;
  const fields = (a: Address) =>
    JSON.stringify((['line1', 'line2', 'city', 'postcode', 'country'] as const).map((k) => a[k] ?? null));
  return typeof stored !== 'string' && fields(next) === fields(stored);
}

/** Profiles: their creation (for auth, through the facade), reading and changing (the customer's own). */
@Injectable()
export class ProfilesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly outbox: OutboxService,
    private readonly kyc: KycService,
    private readonly config: AppConfig,
    private readonly limiter: RateLimiter,
  ) {}

  async create(input: CreateUserInput): Promise<UserView> {
    return this.dataSource.transaction(async (m) => {
      const repo = m.getRepository(UserEntity);
      // Idempotent for a retried call: the same id with the same e-mail returns the existing profile,
      // with the name of this call, the registration that now holds the e-mail's claim (auth activates
      // no credential before this answers, so no one has used the profile yet).
      const same = await repo.findOne({ where: { id: input.id }, lock: { mode: 'pessimistic_write' } });
      if (same) {
        const sameRequest =
          same.email.toLowerCase() === input.email.toLowerCase() && same.role === (input.role ?? 'customer');
        if (!sameRequest) throw AppError.conflict('user_id_taken', 'A different user already has this id');
        if (same.full_name !== input.full_name) {
          same.full_name = input.full_name;
          await repo.save(same);
        }
        return toView(same);
      }
      const inserted = (await m.query(
        `INSERT INTO users.users (id, email, full_name, role) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING id`,
        [input.id, input.email, input.full_name, input.role ?? 'customer'],
      )) as unknown[];
      if (inserted.length === 0)
        throw AppError.conflict('email_taken', 'An account with this e-mail already exists');
      const user = await repo.findOneByOrFail({ id: input.id });
      await this.outbox.add(m, 'users', 'user.registered', { user_id: user.id, email: user.email });
      return toView(user);
    });
  }

  /** The full profile, for its owner. */
  async profile(userId: string) {
    const user = await this.dataSource.getRepository(UserEntity).findOneBy({ id: userId });
    if (!user) throw AppError.notFound('user');
    return { ...toView(user), date_of_birth: user.date_of_birth, phone: user.phone, address: user.address };
  }

  /**
   * The legal name and date of birth are KYC's once a submission carries them: while it is reviewed and
   * after approval, a different value is 409 identity_locked naming the field, and nothing changes (the
   * way to change them is a new KYC submission). The same value again is no change and passes.
   */
  async updateProfile(userId: string, change: UpdateProfileDto) {
    if (change.date_of_birth !== undefined) {
      assertAdultBirthDate(change.date_of_birth, todayIn(this.config.bankTimeZone, new Date()));
    }
    const taken: string[] = [];
    await this.dataSource
      .transaction(async (m) => {
        // The profile row's lock orders this with KYC submissions, which take it too.
        const repo = m.getRepository(UserEntity);
        const user = await repo.findOne({ where: { id: userId }, lock: { mode: 'pessimistic_write' } });
        if (!user) throw AppError.notFound('user');
        const identity = (['full_name', 'date_of_birth'] as const).filter(
          (field) => change[field] !== undefined && change[field] !== user[field],
        );
        if (identity.length > 0 && (await this.kyc.identityLocked(m, userId))) {
          throw new AppError(
            409,
            'identity_locked',
            `Locked by KYC: ${identity.join(', ')}; submit KYC again with the new value to change it`,
            identity.map((field) => ({
              field,
              message: `${field} is verified (or being verified) by KYC: change it with a new KYC submission (POST /users/me/kyc)`,
            })),
          );
        }
        // null removes the phone number or the address.
        const next = {
          phone: change.phone,
          address: change.address === undefined ? undefined : storedAddress(change.address),
        };
        const contact: ContactChanges = {};
        for (const field of ['phone', 'address'] as const) {
          const value = next[field];
          if (value === undefined || sameValue(value, user[field])) continue;
          contact[field] = user[field] === null ? 'added' : value === null ? 'removed' : 'changed';
        }
        if (change.full_name !== undefined) user.full_name = change.full_name;
        if (change.date_of_birth !== undefined) user.date_of_birth = change.date_of_birth;
        if (next.phone !== undefined) user.phone = next.phone;
        if (next.address !== undefined) user.address = next.address;
        await repo.save(user);
        const told = await this.noticesAllowed(userId, contact, taken);
        if (Object.keys(told).length > 0) {
          await this.outbox.add(m, 'users', 'user.contact_changed', { user_id: userId, changes: told });
        }
      })
      .catch(async (err: unknown) => {
        // Nothing changed, so nothing was told: the day's notices are given back.
        await Promise.all(
          taken.map((key) => this.limiter.release('security-notice', key).catch(() => undefined)),
        );
        throw err;
      });
    return this.profile(userId);
  }

  /**
   * The contact changes to tell, CONTACT_NOTICES a day per user and detail: the e-mail address is not
   * verified, so an account made with a stranger's could otherwise mail them at every PATCH; per detail, so
   * that address edits cannot use up the day's notices before a phone change. Without Redis every change
   * is told (a notice too many rather than a takeover untold). `taken` collects the hits, to give back.
   */
  private async noticesAllowed(
    userId: string,
    changes: ContactChanges,
    taken: string[],
  ): Promise<ContactChanges> {
    const told: ContactChanges = {};
    for (const field of Object.keys(changes) as (keyof ContactChanges)[]) {
      const key = `contact-changed:${field}:${userId}`;
      if (!(await this.limiter.allowsFailingOpen('security-notice', key, CONTACT_NOTICES, DAY_SECONDS)))
        continue;
      taken.push(key);
      told[field] = changes[field];
    }
    return told;
  }

  async getProfile(userId: string): Promise<UserView> {
    const user = await this.dataSource.getRepository(UserEntity).findOneBy({ id: userId });
    if (!user) throw AppError.notFound('user');
    return toView(user);
  }
}
