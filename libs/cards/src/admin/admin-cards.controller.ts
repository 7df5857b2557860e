import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
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
import { CurrentCaller, ErrorResponseDto, Roles, StaffReasonDto, type Caller } from '@protobank/platform';
import { AdminCardDto, AdminCardListDto, AdminCardsQuery, CardIdParams } from '../cards/card.dto';
import { AdminCardsService } from './admin-cards.service';

/** Staff views of cards, and the bank's block. */
@ApiTags('cards (staff)')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Not staff' })
@Controller('admin/cards')
@Roles('staff', 'admin')
export class AdminCardsController {
  constructor(private readonly cards: AdminCardsService) {}

  @Get()
  @ApiOperation({
    summary: "A customer's cards, newest first (masked)",
    description:
      "A colleague's (a staff member's or an admin's) take an admin (403 colleague_account). Not your own (403 own_card: GET /cards shows them).",
  })
  @ApiOkResponse({ type: AdminCardListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'owner_id missing or not a uuid' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Not staff, own_card, or colleague_account' })
  list(@CurrentCaller() caller: Caller, @Query() query: AdminCardsQuery): Promise<AdminCardListDto> {
    return this.cards.list(caller, query.owner_id, query.cursor, query.limit ?? 20);
  }

  @Get(':id')
  @ApiOperation({
    summary: 'One card (masked)',
    description:
      "A colleague's (a staff member's or an admin's) takes an admin (403 colleague_account). Not your own (403 own_card: GET /cards/{id} shows it).",
  })
  @ApiOkResponse({ type: AdminCardDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Not staff, own_card, or colleague_account' })
  get(@CurrentCaller() caller: Caller, @Param() params: CardIdParams): Promise<AdminCardDto> {
    return this.cards.get(caller, params.id);
  }

  @Post(':id/block')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Block a card',
    description:
      'Every authorisation is declined (card_blocked) until staff lift the block; the customer cannot unfreeze or replace it, nor be issued another card (on any account, also after cancelling this one), meanwhile. Audited (card_blocked, with the reason). Never on your own cards (403 own_card).',
  })
  @ApiOkResponse({ type: AdminCardDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description: "Not staff, own_card, or colleague_account (a staff member's or an admin's card, for staff)",
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'already_blocked, card_cancelled' })
  block(
    @CurrentCaller() caller: Caller,
    @Param() params: CardIdParams,
    @Body() body: StaffReasonDto,
  ): Promise<AdminCardDto> {
    return this.cards.block(params.id, caller, body.reason);
  }

  @Post(':id/unblock')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Lift a block',
    description:
      "The card returns to the customer's own status (active or frozen). A cancelled card's block can be lifted too (it stops the customer's new cards). Only the staff member who blocked it, or an admin. Audited (card_unblocked).",
  })
  @ApiOkResponse({ type: AdminCardDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description:
      "Not staff, own_card, blocked_by_other, or colleague_account (a staff member's or an admin's card, for staff)",
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'not_blocked' })
  unblock(
    @CurrentCaller() caller: Caller,
    @Param() params: CardIdParams,
    @Body() body: StaffReasonDto,
  ): Promise<AdminCardDto> {
    return this.cards.unblock(params.id, caller, body.reason);
  }
}
