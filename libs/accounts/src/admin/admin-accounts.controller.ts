import { Body, Controller, Get, HttpCode, Inject, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import {
  TRANSACTIONS_API,
  type LedgerAccountState,
  type StaffChange,
  type TransactionsApi,
} from '@protobank/contracts';
import {
  AppConfig,
  assertAmountWithin,
  CurrentCaller,
  ErrorResponseDto,
  Roles,
  staffActor,
  StaffReasonDto,
  type Caller,
} from '@protobank/platform';
import {
  AccountDto,
  AccountIdParams,
  AccountListDto,
  AdminAccountsQuery,
  UpdateAccountDto,
} from '../open/account.dto';
import { AccountsService, accountView } from '../open/accounts.service';

/**
 * Staff controls on accounts. The ledger decides each change under its row lock: never on the actor's own
 * account (403 own_account), a freeze lifted only by its author or an admin (403 frozen_by_other), and
 * every change reported to the audit trail with its reason in the same transaction.
 */
@ApiTags('accounts (staff)')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Not staff, or own_account' })
@Controller('admin/accounts')
@Roles('staff', 'admin')
export class AdminAccountsController {
  constructor(
    private readonly accounts: AccountsService,
    @Inject(TRANSACTIONS_API) private readonly ledger: TransactionsApi,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: "A customer's accounts" })
  @ApiOkResponse({ type: AccountListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  list(@Query() query: AdminAccountsQuery): Promise<AccountListDto> {
    return this.accounts.list(query.owner_id);
  }

  @Post(':id/freeze')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Freeze: no money leaves the account until unfrozen (reversals excepted); payments in still land',
    description: 'Not on your own account. Audited with the reason.',
  })
  @ApiOkResponse({ type: AccountDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'account_closed, already_frozen' })
  freeze(
    @CurrentCaller() caller: Caller,
    @Param() params: AccountIdParams,
    @Body() body: StaffReasonDto,
  ): Promise<AccountDto> {
    return this.change(
      params.id,
      (change) => this.ledger.setStatus(params.id, 'frozen', change),
      caller,
      body,
    );
  }

  @Post(':id/unfreeze')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Unfreeze',
    description:
      'A staff member lifts only a freeze they made (403 frozen_by_other); an admin lifts any. Not on your own account. Audited with the reason and whose freeze it was.',
  })
  @ApiOkResponse({ type: AccountDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'account_closed, not_frozen' })
  unfreeze(
    @CurrentCaller() caller: Caller,
    @Param() params: AccountIdParams,
    @Body() body: StaffReasonDto,
  ): Promise<AccountDto> {
    return this.change(
      params.id,
      (change) => this.ledger.setStatus(params.id, 'active', change),
      caller,
      body,
    );
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Set the overdraft limit (minor units)',
    description: 'Not on your own account. Audited with the limit before and after, and the reason.',
  })
  @ApiOkResponse({ type: AccountDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'account_closed' })
  update(
    @CurrentCaller() caller: Caller,
    @Param() params: AccountIdParams,
    @Body() body: UpdateAccountDto,
  ): Promise<AccountDto> {
    assertAmountWithin(body.overdraft_limit, this.config.maxOverdraftLimit, 'overdraft_limit');
    return this.change(
      params.id,
      (change) => this.ledger.setOverdraftLimit(params.id, BigInt(body.overdraft_limit), change),
      caller,
      body,
    );
  }

  private async change(
    id: string,
    apply: (change: StaffChange) => Promise<LedgerAccountState>,
    caller: Caller,
    body: { reason: string },
  ): Promise<AccountDto> {
    const account = await this.accounts.byId(id);
    return accountView(account, await apply({ actor: staffActor(caller), reason: body.reason }));
  }
}
