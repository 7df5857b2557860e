import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import {
  AppError,
  CurrentCaller,
  ErrorResponseDto,
  Public,
  RateLimit,
  type Caller,
  configuredLimit,
} from '@protobank/platform';
import type { HttpRequest } from '@protobank/platform';
import { SessionStore, type SessionMeta } from './session.store';
import {
  ChangePasswordDto,
  LoginDto,
  LoginResponseDto,
  RefreshDto,
  SessionIdParams,
  SessionListDto,
  TokenPairDto,
} from './sessions.dto';
import { SessionsService, type LoginResult } from './sessions.service';
import { AuthConfig } from '../auth.config';

/** LOGIN_RATE_LIMIT_PER_MINUTE: logins per IP, and password changes per user. */
const loginsPerMinute = configuredLimit(AuthConfig, (c) => c.loginRateLimitPerMinute);

const metaOf = (req: HttpRequest): SessionMeta => ({ ip: req.ip, user_agent: req.headers['user-agent'] });

@ApiTags('auth')
@Controller('auth')
export class SessionsController {
  constructor(
    private readonly service: SessionsService,
    private readonly sessions: SessionStore,
  ) {}

  @Post('login')
  @Public()
  @RateLimit({ bucket: 'login-ip', limit: loginsPerMinute, windowSeconds: 60, by: 'ip' })
  @HttpCode(200)
  @ApiOperation({
    summary: 'Log in: a 15-minute access token and a refresh token for a new session',
    description:
      'Returns a device_token too: sent with later logins from the same client, it exempts them from the ' +
      'lockout strangers can put on the e-mail (LOGIN_MAX_FAILURES failures from clients that hold no ' +
      "device token of the account lock the e-mail for LOGIN_LOCKOUT_SECONDS); that device's own failures " +
      'lock its token alone. A user keeps at most SESSIONS_PER_USER_MAX sessions (50 by default): a login ' +
      'beyond it ends the least recently used one, whose tokens stop working at once.',
  })
  @ApiOkResponse({ type: LoginResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiUnauthorizedResponse({
    type: ErrorResponseDto,
    description: 'invalid_credentials (same for unknown e-mail)',
  })
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description: 'account_disabled: the right password of an account staff disabled',
  })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description:
      'rate_limited (per IP), or account_locked: the e-mail (for clients without a device token of the ' +
      'account) or the presented device token is locked; see Retry-After; or login_busy: as many logins as may ' +
      'fail before the lock are being checked at this moment, so this one was not (retry in a second)',
  })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description:
      "try_again: the account's sessions were being revoked (disabled, role changed) meanwhile; or " +
      'auth_busy: too many password checks were under way (one at a time per instance), see Retry-After',
  })
  login(@Body() body: LoginDto, @Req() req: HttpRequest): Promise<LoginResult> {
    return this.service.login(body.email, body.password, metaOf(req), body.device_token);
  }

  @Post('refresh')
  @Public()
  @RateLimit({
    bucket: 'refresh-ip',
    limit: configuredLimit(AuthConfig, (c) => c.loginRateLimitPerMinute * 4),
    windowSeconds: 60,
    by: 'ip',
  })
  @HttpCode(200)
  @ApiOperation({
    summary: 'Rotate a refresh token; a reused one ends its session',
    description:
      'Within REFRESH_REUSE_GRACE_SECONDS of its rotation, a refresh token presented again (another tab ' +
      'refreshing at the same time) gets the same new pair as the first; after that window, or once the ' +
      'new token has itself been rotated, presenting it is refresh_token_reused and ends the session.',
  })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiUnauthorizedResponse({
    type: ErrorResponseDto,
    description: 'invalid_refresh_token or refresh_token_reused',
  })
  refresh(@Body() body: RefreshDto, @Req() req: HttpRequest): Promise<TokenPairDto> {
    return this.service.refresh(body.refresh_token, metaOf(req));
  }

  @Post('logout')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'End the current session' })
  @ApiNoContentResponse()
  @ApiUnauthorizedResponse({ type: ErrorResponseDto })
  async logout(@CurrentCaller() caller: Caller): Promise<void> {
    await this.sessions.revoke(caller.user_id, caller.session_id!);
  }

  @Post('logout-all')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiOperation({ summary: "End all of the caller's sessions, on every device" })
  @ApiNoContentResponse()
  @ApiUnauthorizedResponse({ type: ErrorResponseDto })
  async logoutAll(@CurrentCaller() caller: Caller): Promise<void> {
    await this.sessions.revokeAll(caller.user_id);
  }

  @Post('password')
  @HttpCode(200)
  @ApiBearerAuth()
  @RateLimit({
    bucket: 'password-change',
    limit: loginsPerMinute,
    windowSeconds: 60,
    by: 'user',
  })
  @ApiOperation({
    summary: 'Change your password: every session ends, and this answer is a new one',
    description:
      'The current password is checked again; LOGIN_MAX_FAILURES wrong ones lock this route for the user ' +
      'for LOGIN_LOCKOUT_SECONDS (429 rate_limited). The new one follows the registration rules and is not ' +
      'the current one. Then every session of yours ends, this one too (their access and refresh tokens stop ' +
      'working at once), and the device tokens issued before forget the account: log in again elsewhere. ' +
      'Answered as a login: a new token pair and device token.',
  })
  @ApiOkResponse({ type: LoginResponseDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'validation_failed, or weak_password naming new_password',
  })
  @ApiUnauthorizedResponse({
    type: ErrorResponseDto,
    description: 'invalid_password naming current_password, or no valid token',
  })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'password_changed: another change came first' })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description:
      'rate_limited (see Retry-After), or password_change_busy: as many changes as may fail are being checked',
  })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description:
      'auth_busy (nothing changed); sessions_not_ended (changed, but send POST /auth/logout-all) or ' +
      'log_in_again (changed and every session ended, no new one opened)',
  })
  changePassword(
    @CurrentCaller() caller: Caller,
    @Body() body: ChangePasswordDto,
    @Req() req: HttpRequest,
  ): Promise<LoginResult> {
    return this.service.changePassword(caller.user_id, body.current_password, body.new_password, metaOf(req));
  }

  @Get('sessions')
  @ApiBearerAuth()
  @ApiOperation({ summary: "The caller's open sessions, most recently used first" })
  @ApiOkResponse({ type: SessionListDto })
  @ApiUnauthorizedResponse({ type: ErrorResponseDto })
  async list(@CurrentCaller() caller: Caller): Promise<SessionListDto> {
    const sessions = await this.sessions.list(caller.user_id);
    return { data: sessions.map((s) => ({ ...s, current: s.id === caller.session_id })), next_cursor: null };
  }

  @Delete('sessions/:id')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiOperation({ summary: "End one of the caller's sessions (e.g. a lost phone)" })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such session of the caller' })
  @ApiUnauthorizedResponse({ type: ErrorResponseDto })
  async end(@CurrentCaller() caller: Caller, @Param() params: SessionIdParams): Promise<void> {
    if (!(await this.sessions.revokeOwn(caller.user_id, params.id))) throw AppError.notFound('session', 'id');
  }
}
