import { Body, Controller, Delete, Get, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import {
  assertNoResetHold,
  CurrentCaller,
  ErrorResponseDto,
  PageQuery,
  RateLimit,
  type Caller,
} from '@protobank/platform';
import {
  CreatePayeeDto,
  DeletedPayeeDto,
  PayeeDto,
  PayeeIdParams,
  PayeeListDto,
  UpdatePayeeDto,
} from './payee.dto';
import { payeeView, PayeesService } from './payees.service';

@ApiTags('payments')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('payees')
export class PayeesController {
  constructor(private readonly payees: PayeesService) {}

  @Post()
  // Saving an internal payee says whether an account number exists: limited, as transfers by number are
  // (and its misses counted with theirs: PayeesService). A 400 looks nothing up, and does not count.
  @RateLimit({ bucket: 'payee-create', limit: 30, windowSeconds: 3600, by: 'user', countMalformed: false })
  @ApiOperation({
    summary: 'Save a payee',
    description:
      'Our sort code makes an internal payee, whose account must exist and be open (422 payee_account_not_found or payee_account_closed, counted toward TRANSFER_MISS_LIMIT with transfers to missing or closed accounts); any other sort code an external one, paid out through the payment scheme. Needs a verified identity (403 kyc_required), and waits PASSWORD_RESET_HOLD_HOURS after a password reset by e-mail (403 recently_reset).',
  })
  @ApiCreatedResponse({ type: PayeeDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'validation_failed (e.g. the check digit of a number at our sort code)',
  })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'kyc_required, recently_reset' })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: 'payee_account_not_found, payee_account_closed (naming account_number), too_many_payees',
  })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description:
      'rate_limited: 30 payees saved or refused this hour (a 400 does not count), or (an internal payee) TRANSFER_MISS_LIMIT numbers with no account, counted with transfers; lookups_busy: more than TRANSFER_MISS_LIMIT transfers or payees by account number checked at once (retry after 1 s)',
  })
  create(@CurrentCaller() caller: Caller, @Body() body: CreatePayeeDto): Promise<PayeeDto> {
    assertNoResetHold(caller, 'adding a payee');
    return this.payees.create(caller.user_id, body);
  }

  @Get()
  @ApiOperation({ summary: 'Your payees, oldest first' })
  @ApiOkResponse({ type: PayeeListDto })
  list(@CurrentCaller() caller: Caller, @Query() query: PageQuery): Promise<PayeeListDto> {
    return this.payees.list(caller.user_id, query.cursor, query.limit ?? 20);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One of your payees' })
  @ApiOkResponse({ type: PayeeDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async get(@CurrentCaller() caller: Caller, @Param() params: PayeeIdParams): Promise<PayeeDto> {
    return payeeView(await this.payees.own(caller.user_id, params.id));
  }

  @Patch(':id')
  @ApiOperation({
    summary: "Change a payee's name or reference",
    description:
      'Not its sort code or account number: save a new payee for another account. Orders already set up keep their reference; they show the new name, and an external payee’s next payments carry it.',
  })
  @ApiOkResponse({ type: PayeeDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'validation_failed (e.g. nothing to change, or a character the scheme does not carry)',
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  update(
    @CurrentCaller() caller: Caller,
    @Param() params: PayeeIdParams,
    @Body() body: UpdatePayeeDto,
  ): Promise<PayeeDto> {
    return this.payees.update(caller.user_id, params.id, body);
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Delete a payee',
    description: 'Cancels its standing orders and the scheduled payments not yet made, and says how many.',
  })
  @ApiOkResponse({ type: DeletedPayeeDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  delete(@CurrentCaller() caller: Caller, @Param() params: PayeeIdParams): Promise<DeletedPayeeDto> {
    return this.payees.delete(caller.user_id, params.id);
  }
}
