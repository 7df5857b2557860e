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
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiServiceUnavailableResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import {
  assertNoResetHold,
  CurrentCaller,
  ErrorResponseDto,
  PageQuery,
  type Caller,
  type HttpReply,
  type HttpRequest,
} from '@protobank/platform';
import {
  AuthorisationListDto,
  AuthorisationsQuery,
  CancelCardDto,
  CancelledCardDto,
  CardDetailsDto,
  CardDto,
  CardIdParams,
  CardListDto,
  IssueCardDto,
  IssuedCardDto,
  RevealCardDto,
  UpdateLimitsDto,
} from './card.dto';
import { CardsService } from './cards.service';

/** Answers carrying a card number must not be kept by any cache on the way. */
const noStore = (res: HttpReply) => void res.header('Cache-Control', 'no-store');

@ApiTags('cards')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('cards')
export class CardsController {
  constructor(private readonly cards: CardsService) {}

  @Post()
  @ApiOperation({
    summary: 'Issue a debit card on one of your active accounts',
    description:
      'The answer is the only one, besides a reveal, that carries the full number (pan) and the CVC: keep them safe. Not idempotent by design (a replay would hand out the number again without a password): a retry issues another card, up to 10 cards held and CARD_ISSUES_PER_DAY issued in 24 hours. Waits PASSWORD_RESET_HOLD_HOURS after a password reset by e-mail (403 recently_reset).',
  })
  @ApiCreatedResponse({ type: IssuedCardDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'recently_reset' })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'validation_failed, naming each field' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'The account is not yours (names account_id)' })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description:
      'account_frozen, account_closed, card_blocked (a card of yours is blocked by the bank); issued_while_frozen (the bank froze the account as the card was made: the card is issued, names it in details, and its number is shown by a reveal once the freeze is lifted)',
  })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description:
      'issued_unchecked: the card is issued (details name it) but its account could not be read again, so its number is not shown: reveal it in a moment',
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description:
      'too_many_cards; cardholder_name_not_yours (names cardholder_name: not a form of your verified name)',
  })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description:
      'rate_limited: CARD_ISSUES_PER_DAY cards issued to you in the last 24 hours, replacements and cancelled ones included (until Retry-After)',
  })
  issue(
    @CurrentCaller() caller: Caller,
    @Body() body: IssueCardDto,
    @Res({ passthrough: true }) res: HttpReply,
  ): Promise<IssuedCardDto> {
    noStore(res);
    // The answer carries the full number: as a reveal, it waits out a reset's hold.
    assertNoResetHold(caller, 'issuing a card');
    return this.cards.issue(caller, body);
  }

  @Get()
  @ApiOperation({ summary: 'Your cards, oldest first, masked' })
  @ApiOkResponse({ type: CardListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  list(@CurrentCaller() caller: Caller, @Query() query: PageQuery): Promise<CardListDto> {
    return this.cards.list(caller.user_id, query.cursor, query.limit ?? 20);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One of your cards, masked' })
  @ApiOkResponse({ type: CardDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  get(@CurrentCaller() caller: Caller, @Param() params: CardIdParams): Promise<CardDto> {
    return this.cards.get(caller.user_id, params.id);
  }

  @Post(':id/reveal')
  @HttpCode(200)
  @ApiOperation({
    summary: 'See the full number, expiry and CVC',
    description:
      'Checks your password again (401 invalid_password when wrong). Limited per customer per hour (CARD_REVEAL_RATE_LIMIT_PER_HOUR, wrong passwords included: then 429 with Retry-After), and every attempt is written to the audit trail. Waits PASSWORD_RESET_HOLD_HOURS after a password reset by e-mail (403 recently_reset).',
  })
  @ApiOkResponse({ type: CardDetailsDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'invalid_password, or no valid token' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'recently_reset' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: "card_cancelled; card_blocked (by staff); account_frozen (the card's account, by staff)",
  })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'rate_limited' })
  reveal(
    @CurrentCaller() caller: Caller,
    @Param() params: CardIdParams,
    @Body() body: RevealCardDto,
    @Req() req: HttpRequest,
    @Res({ passthrough: true }) res: HttpReply,
  ): Promise<CardDetailsDto> {
    noStore(res);
    assertNoResetHold(caller, "showing a card's number");
    return this.cards.reveal(caller, params.id, body.password, { ip: req.ip, requestId: req.requestId });
  }

  @Post(':id/freeze')
  @HttpCode(200)
  @ApiOperation({ summary: 'Freeze the card: it is declined until you unfreeze it (idempotent)' })
  @ApiOkResponse({ type: CardDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'card_cancelled' })
  freeze(@CurrentCaller() caller: Caller, @Param() params: CardIdParams): Promise<CardDto> {
    return this.cards.freeze(caller.user_id, params.id);
  }

  @Post(':id/unfreeze')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Unfreeze the card (idempotent)',
    description: 'A block by the bank outranks it: 409 card_blocked until staff lift the block.',
  })
  @ApiOkResponse({ type: CardDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'card_blocked, card_cancelled' })
  unfreeze(@CurrentCaller() caller: Caller, @Param() params: CardIdParams): Promise<CardDto> {
    return this.cards.unfreeze(caller.user_id, params.id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel the card for good, optionally replacing it',
    description:
      'With replace: true a new card with a new number is issued on the same account, with the same type, name and limits; it is answered masked (reveal it for its number). A card the bank has blocked cannot be replaced, nor one whose account is not active (409, nothing changes).',
  })
  @ApiOkResponse({ type: CancelledCardDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'card_cancelled; with replace: card_blocked, account_frozen, account_closed',
  })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description:
      'rate_limited, with replace: CARD_ISSUES_PER_DAY cards issued to you in the last 24 hours (nothing changes; until Retry-After)',
  })
  cancel(
    @CurrentCaller() caller: Caller,
    @Param() params: CardIdParams,
    @Body() body: CancelCardDto,
  ): Promise<CancelledCardDto> {
    return this.cards.cancel(caller.user_id, params.id, body);
  }

  @Patch(':id/limits')
  @ApiOperation({
    summary: 'Change the spending limits and controls',
    description:
      'Only the fields given change; null removes an amount limit. per_transaction <= daily <= monthly where set. Checked at each authorisation.',
  })
  @ApiOkResponse({ type: CardDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'validation_failed, naming the field' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'card_cancelled' })
  updateLimits(
    @CurrentCaller() caller: Caller,
    @Param() params: CardIdParams,
    @Body() body: UpdateLimitsDto,
  ): Promise<CardDto> {
    return this.cards.updateLimits(caller.user_id, params.id, body);
  }

  @Get(':id/authorisations')
  @ApiOperation({ summary: "The card's authorisations, newest first" })
  @ApiOkResponse({ type: AuthorisationListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  authorisations(
    @CurrentCaller() caller: Caller,
    @Param() params: CardIdParams,
    @Query() query: AuthorisationsQuery,
  ): Promise<AuthorisationListDto> {
    return this.cards.authorisations(
      caller.user_id,
      params.id,
      query.status,
      query.cursor,
      query.limit ?? 20,
    );
  }
}
