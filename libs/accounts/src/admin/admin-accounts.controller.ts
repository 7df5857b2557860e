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
import { TRANSACTIONS_API, type TransactionsApi } from '@protobank/contracts';
import { AppConfig, assertAmountWithin, ErrorResponseDto, Roles } from '@protobank/platform';
import {
  AccountDto,
  AccountIdParams,
  AccountListDto,
  AdminAccountsQuery,
  UpdateAccountDto,
} from '../open/account.dto';
import { AccountsService, accountView } from '../open/accounts.service';

@ApiTags('accounts (staff)')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@ApiForbiddenResponse({ type: ErrorResponseDto })
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
  list(@Query() query: AdminAccountsQuery) {
    return this.accounts.list(query.owner_id);
  }

  @Post(':id/freeze')
  @HttpCode(200)
  @ApiOperation({ summary: 'Freeze: no money moves in or out until unfrozen (reversals excepted)' })
  @ApiOkResponse({ type: AccountDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'account_closed' })
  async freeze(@Param() params: AccountIdParams) {
    return this.change(params.id, () => this.ledger.setStatus(params.id, 'frozen'));
  }

  @Post(':id/unfreeze')
  @HttpCode(200)
  @ApiOperation({ summary: 'Unfreeze' })
  @ApiOkResponse({ type: AccountDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'account_closed' })
  async unfreeze(@Param() params: AccountIdParams) {
    return this.change(params.id, () => this.ledger.setStatus(params.id, 'active'));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Set the overdraft limit (minor units)' })
  @ApiOkResponse({ type: AccountDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'account_closed' })
  async update(@Param() params: AccountIdParams, @Body() body: UpdateAccountDto) {
    assertAmountWithin(body.overdraft_limit, this.config.maxOverdraftLimit, 'overdraft_limit');
    return this.change(params.id, () =>
      this.ledger.setOverdraftLimit(params.id, BigInt(body.overdraft_limit)),
    );
  }

  private async change(id: string, apply: () => ReturnType<TransactionsApi['setStatus']>) {
    const account = await this.accounts.byId(id);
    return accountView(account, await apply());
  }
}
