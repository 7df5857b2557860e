import { Injectable } from '@nestjs/common';
import type { Caller } from '../context/request-context';
import { AppError } from '../errors/app-error';
import { RedisService } from '../redis/redis.module';
import { sessionAdmits, sessionKey } from './session-registry';

export const sessionEnded = () =>
  new AppError(401, 'session_ended', 'The session of this access token has ended; log in again');

/**
 * The caller's session read again, as the guard read it when the request arrived: for a request that
 * shows what it must not show after a logout-all, a disable or a role change, and that waits on something
 * slow first (a card reveal's password check: helper-122 had card numbers shown after each had answered).
 */
@Injectable()
export class LiveSession {
  constructor(private readonly redis: RedisService) {}

  /** 401 session_ended unless the session still exists, is the caller's and has their role. */
  async assert(caller: Caller): Promise<void> {
    if (!caller.session_id) return;
    const [userId, role] = await this.redis.client.hmget(sessionKey(caller.session_id), 'user_id', 'role');
    if (!sessionAdmits({ userId, role }, caller)) throw sessionEnded();
  }
}
