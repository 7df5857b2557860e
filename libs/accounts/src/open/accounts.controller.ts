import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import {
  AppConfig,
  COLLEAGUE_READ_FORBIDDEN,
  CurrentCaller,
  ErrorResponseDto,
  RateLimit,
  csvWanted,
  todayIn,
  type Caller,
  type HttpReply,
  type HttpRequest,
} from '@protobank/platform';
import { statementCsv } from '../statement/statement-csv';
import { StatementService } from '../statement/statement.service';
import {
  AccountDto,
  AccountIdParams,
  AccountListDto,
  BalanceDto,
  OpenAccountDto,
  RenameAccountDto,
  StatementDto,
  StatementQuery,
} from './account.dto';
import { AccountsService } from './accounts.service';

/** Statements one customer may ask for per minute (a month's takes one; a year's, twelve). */
export const STATEMENTS_PER_MINUTE = 60;

@ApiTags('accounts')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('accounts')
export class AccountsController {
  constructor(
    private readonly accounts: AccountsService,
    private readonly statements: StatementService,
    private readonly config: AppConfig,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Open a current or savings account (KYC-verified customers)' })
  @ApiCreatedResponse({ type: AccountDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'kyc_required' })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'opening_in_progress: another opening of yours is running',
  })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'too_many_accounts' })
  open(@CurrentCaller() caller: Caller, @Body() body: OpenAccountDto): Promise<AccountDto> {
    return this.accounts.open(caller, body);
  }

  @Get()
  @ApiOperation({ summary: 'Your accounts, oldest first, with their balances' })
  @ApiOkResponse({ type: AccountListDto })
  list(@CurrentCaller() caller: Caller): Promise<AccountListDto> {
    return this.accounts.list(caller.user_id);
  }

  @Get(':id')
  @ApiOperation({ summary: "One account (yours, or for staff a customer's)" })
  @ApiOkResponse({ type: AccountDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: COLLEAGUE_READ_FORBIDDEN })
  get(@CurrentCaller() caller: Caller, @Param() params: AccountIdParams): Promise<AccountDto> {
    return this.accounts.get(caller, params.id);
  }

  @Get(':id/balance')
  @ApiOperation({
    summary: 'Balance and available balance',
    description: 'Served from a 60 s cache that every posting updates before it answers.',
  })
  @ApiOkResponse({ type: BalanceDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: COLLEAGUE_READ_FORBIDDEN })
  balance(@CurrentCaller() caller: Caller, @Param() params: AccountIdParams): Promise<BalanceDto> {
    return this.accounts.balance(caller, params.id);
  }

  @Get(':id/statement')
  // Up to 5,000 lines read and formatted each: 80 at once from one customer held /health/live for 0.4 s.
  // A 400 (a bad period) reads nothing, and does not count.
  @RateLimit({
    bucket: 'statement',
    limit: STATEMENTS_PER_MINUTE,
    windowSeconds: 60,
    by: 'user',
    countMalformed: false,
  })
  @ApiOperation({
    summary: 'Statement for a period: opening balance, transactions with running balance, closing balance',
    description:
      "JSON by default; CSV with `Accept: text/csv`. Dates are bank days (BANK_TIME_ZONE); a date `to` includes its day, a date-time `to` is exclusive. In CSV each line's `date` is its bank day and `time` (the last column) its UTC instant; JSON lines carry the instant (`created_at`).",
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({
    type: StatementDto,
    headers: {
      'Content-Disposition': {
        description: 'CSV only: attachment, with a file name of the account and the period',
        schema: { type: 'string' },
      },
    },
  })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: COLLEAGUE_READ_FORBIDDEN })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'statement_too_large' })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description: `rate_limited: more than ${STATEMENTS_PER_MINUTE} statements a minute (a 400 does not count); see Retry-After`,
  })
  async statement(
    @CurrentCaller() caller: Caller,
    @Param() params: AccountIdParams,
    @Query() query: StatementQuery,
    @Req() req: HttpRequest,
    @Res({ passthrough: true }) res: HttpReply,
  ): Promise<StatementDto | string> {
    const statement = await this.statements.statement(caller, params.id, query);
    if (!csvWanted(req, res)) return statement;
    // The first and last bank days it covers (`to` is exclusive): a July statement is -07-01-07-31.
    const zone = this.config.bankTimeZone;
    const first = todayIn(zone, new Date(statement.from));
    const last = todayIn(zone, new Date(new Date(statement.to).getTime() - 1));
    const name = `statement-${statement.account_number}-${first}-${last}.csv`;
    void res.header('Content-Type', 'text/csv; charset=utf-8');
    void res.header('Content-Disposition', `attachment; filename="${name}"`);
    return statementCsv(statement, zone);
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Rename your account',
    description: 'Not a closed account (409 account_closed). Only the owner renames: 404 for anyone else.',
  })
  @ApiOkResponse({ type: AccountDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'account_closed' })
  rename(
    @CurrentCaller() caller: Caller,
    @Param() params: AccountIdParams,
    @Body() body: RenameAccountDto,
  ): Promise<AccountDto> {
    return this.accounts.rename(caller, params.id, body.name);
  }

  @Post(':id/close')
  @HttpCode(200)
  @ApiOperation({ summary: 'Close your account; its balance must be zero' })
  @ApiOkResponse({ type: AccountDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'balance_not_zero, account_frozen, account_closed',
  })
  close(@CurrentCaller() caller: Caller, @Param() params: AccountIdParams): Promise<AccountDto> {
    return this.accounts.close(caller, params.id);
  }
}
