import { Body, Controller, Get, Param, Patch, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { CurrentCaller, ErrorResponseDto, Roles, type Caller } from '@protobank/platform';
import {
  AdminUserDto,
  AuditPageDto,
  AuditQuery,
  ListUsersQuery,
  UpdateUserDto,
  UserIdParams,
  UserPageDto,
} from './admin-users.dto';
import { AdminUsersService } from './admin-users.service';

@ApiTags('admin')
@ApiBearerAuth()
@ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Not staff (or, for changes, not admin)' })
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('admin')
export class AdminUsersController {
  constructor(private readonly admin: AdminUsersService) {}

  @Get('users')
  @Roles('staff', 'admin')
  @ApiOperation({
    summary: 'Users, newest first, optionally matching an e-mail or name',
    description: "A staff member's list has customers and themselves; an admin's has everyone.",
  })
  @ApiOkResponse({ type: UserPageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  list(@CurrentCaller() caller: Caller, @Query() query: ListUsersQuery): Promise<UserPageDto> {
    return this.admin.list(caller, query);
  }

  @Get('users/:id')
  @Roles('staff', 'admin')
  @ApiOperation({
    summary: 'One user',
    description: "A colleague's (a staff member's or an admin's) takes an admin (403 colleague_account).",
  })
  @ApiOkResponse({ type: AdminUserDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description: "forbidden: not staff; colleague_account: a colleague's user takes an admin",
  })
  get(@CurrentCaller() caller: Caller, @Param() params: UserIdParams): Promise<AdminUserDto> {
    return this.admin.get(caller, params.id);
  }

  @Patch('users/:id')
  @Roles('admin')
  @ApiOperation({
    summary: "Change a user's role, or disable them (their sessions end, logins are refused)",
    description:
      "When this answers 200, the user's sessions have ended in every app: their access and refresh " +
      'tokens are refused from the next request on. Any request naming a role (changed or not) or ' +
      'disabling ends them, so it is the retry after a 503. An admin cannot change their own user ' +
      '(422 self_lockout, whatever the body). ' +
      "Disabling ends online access only: the user's cards, standing orders and scheduled payments go on " +
      '(freeze the accounts and block the cards to stop money), and their notices are not e-mailed or texted.',
  })
  @ApiOkResponse({ type: AdminUserDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: "self_lockout: the id is the caller's own",
  })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description:
      "sessions_not_ended: the change is saved, but the user's sessions could not be ended at once; they " +
      'end when the auth service receives the change. Repeating the same request (the same role, or ' +
      'disabled: true) ends them at once: a request naming a role or disabling always ends the sessions.',
  })
  update(
    @CurrentCaller() caller: Caller,
    @Param() params: UserIdParams,
    @Body() body: UpdateUserDto,
  ): Promise<AdminUserDto> {
    return this.admin.update(caller, params.id, body);
  }

  @Get('audit')
  @Roles('admin')
  @ApiOperation({
    summary: 'The audit trail of staff actions, newest first',
    description:
      "Admins only: it is the oversight of staff, so staff do not read their colleagues' (or their own) entries. " +
      'Every role change, disabling, KYC decision, freeze, unfreeze, overdraft change, deposit and reversal, ' +
      "with actor, user affected, resource, before, after and reason; and every read of a user's data by staff or " +
      'an admin (customer_data_viewed, what was read in after.viewed): kind=actions leaves the reads out, ' +
      'kind=reads shows only them. Actions of the ledger appear a moment after they commit (they travel as ' +
      'events), with the time they happened.',
  })
  @ApiOkResponse({ type: AuditPageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  audit(@CurrentCaller() caller: Caller, @Query() query: AuditQuery): Promise<AuditPageDto> {
    return this.admin.auditTrail(caller, query);
  }
}
