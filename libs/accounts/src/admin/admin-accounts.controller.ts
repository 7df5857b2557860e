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
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import {
  TRANSACTIONS_API,
  type LedgerAccountState,
  type StaffChange,
  type TransactionsApi,
} from '@protobank/contracts';
import {
  AppError,
  assertAmountWithin,
  assertMayActOnOwner,
  CurrentCaller,
  ErrorResponseDto,
  Roles,
  staffActor,
  StaffGate,
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
import type { AccountEntity } from '../open/account.entity';
import { AccountsService, accountView } from '../open/accounts.service';
import { AccountsConfig } from '../accounts.config';

/**
 * Staff controls on accounts. The ledger decides each change under its row lock: never on the actor's own
 * account (403 own_account), a freeze lifted only by its author or an admin (403 frozen_by_other), and
 * every change reported to the audit trail with its reason in the same transaction. A colleague's
 * account (its owner staff or an admin) takes an admin (403 colleague_account).
 */
@ApiTags('accounts (staff)')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@ApiForbiddenResponse({
  type: ErrorResponseDto,
  description:
    "Not staff; own_account; colleague_account (a staff member's or an admin's account, for staff)",
})
@Controller('admin/accounts')
@Roles('staff', 'admin')
export class AdminAccountsController {
  constructor(
    private readonly accounts: AccountsService,
    @Inject(TRANSACTIONS_API) private readonly ledger: TransactionsApi,
    private readonly config: AccountsConfig,
    private readonly gate: StaffGate,
  ) {}

  @Get()
  @ApiOperation({
    summary: "A customer's accounts",
    description: "A colleague's (a staff member's or an admin's) take an admin (403 colleague_account).",
  })
  @ApiOkResponse({ type: AccountListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  async list(@CurrentCaller() caller: Caller, @Query() query: AdminAccountsQuery): Promise<AccountListDto> {
    await this.accounts.assertMaySeeAccountsOf(caller, query.owner_id);
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
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description:
      "Not staff; own_account; colleague_account (a staff member's or an admin's account, for staff); " +
      'frozen_by_other: a freeze another staff member made takes them or an admin',
  })
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
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: 'overdraft_not_allowed: only a current account can have one (naming overdraft_limit)',
  })
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
      (account) => {
        // Savings are for saving: only a current account may go below zero.
        if (account.type !== 'current' && body.overdraft_limit > 0) {
          throw AppError.unprocessable(
            'overdraft_not_allowed',
            'Only a current account can have an overdraft',
            [{ field: 'overdraft_limit', message: `a ${account.type} account's overdraft limit stays 0` }],
          );
        }
      },
    );
  }

  private async change(
    id: string,
    apply: (change: StaffChange) => Promise<LedgerAccountState>,
    caller: Caller,
    body: { reason: string },
    check?: (account: AccountEntity) => void,
  ): Promise<AccountDto> {
    const actor = staffActor(caller);
    // No change of the actor's or the owner's role or access lands while this runs (StaffGate).
    return this.gate.act(caller, async (pass) => {
      const account = await this.accounts.byId(id);
      // One's own account is the ledger's to refuse (own_account, under the row lock, and counted). The
      // request's own rules come after who may act: a colleague's savings account is 403, not a 422.
      if (account.owner_id !== actor.user_id) {
        await pass.owners([account.owner_id]);
        assertMayActOnOwner(actor, await this.accounts.ownerRole(account.owner_id));
        check?.(account);
        // The answer shows the account (its balance too, which no change entry holds): a read, filed
        // before anything changes, a change of nothing included (helper-113 read balances through a
        // limit set to the one the account had).
        await this.accounts.assertMaySeeAccount(caller, account);
      }
      return accountView(account, await apply({ actor, reason: body.reason }));
    });
  }
}
