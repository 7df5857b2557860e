import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { DeclaredInputAfterOwnGuard, ErrorResponseDto, Public } from '@protobank/platform';
import { CardNetworkGuard } from './card-network.guard';
import { CardNetworkService } from './card-network.service';
import {
  AuthorisationAnswerDto,
  AuthorisationRequestDto,
  ClearingAnswerDto,
  ClearingRequestDto,
  RefundAnswerDto,
  RefundRequestDto,
  ReversalAnswerDto,
  ReversalRequestDto,
} from './network.dto';

const SIGNED =
  'Signed by the card network, not by a customer: X-Card-Network-Signature is t=<unix seconds>,v2=<hex ' +
  'HMAC-SHA256 of "<t>.<METHOD> <path>.<raw body>" with CARD_NETWORK_SECRET> (several v2 during a secret ' +
  'rotation), at most five minutes old. A bearer token is neither needed nor looked at.';

@ApiTags('card network')
@ApiHeader({ name: 'X-Card-Network-Signature', required: true, description: SIGNED })
@ApiUnauthorizedResponse({
  type: ErrorResponseDto,
  description: 'invalid_signature: missing, stale or wrong',
})
@ApiBadRequestResponse({ type: ErrorResponseDto, description: 'validation_failed, naming each field' })
@Public()
// The signature first: an unsigned request is 401 whatever else it carries.
@UseGuards(CardNetworkGuard, DeclaredInputAfterOwnGuard)
@Controller('card-network')
export class CardNetworkController {
  constructor(private readonly network: CardNetworkService) {}

  @Post('authorisations')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Authorise a card payment (the network asks, the issuer answers)',
    description:
      'Approved: the amount is held on the card’s account (its available balance drops at once, its balance does not) until cleared, reversed or expired (CARD_HOLD_EXPIRY_DAYS). Declined: a reason, nothing held. Idempotent by network_transaction_id: a retry gets the first answer. The fifth decline for wrong card details (expiry, CVC) within a day freezes the card.',
  })
  @ApiOkResponse({ type: AuthorisationAnswerDto })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: 'idempotency_key_reused: the network_transaction_id is a forced clearing’s',
  })
  authorise(@Body() body: AuthorisationRequestDto): Promise<AuthorisationAnswerDto> {
    return this.network.authorise(body);
  }

  @Post('clearings')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Clear a card payment: post its final amount and release its hold',
    description:
      'One ledger transaction posts the amount (it may differ from the authorised one: a tip, a partial shipment) and releases the hold, whatever the funds: the money is owed. Without authorisation_id (give pan and merchant) it is a forced post, accepted and recorded as such, and it may overdraw. Idempotent by network_transaction_id.',
  })
  @ApiOkResponse({ type: ClearingAnswerDto })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: 'No such authorisation (or card, for a forced post)',
  })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'already_cleared, authorisation_declined, account_closed',
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description:
      'currency_mismatch; card_mismatch (pan is not the authorisation’s card); idempotency_key_reused (the id came with another clearing)',
  })
  clear(@Body() body: ClearingRequestDto): Promise<ClearingAnswerDto> {
    return this.network.clear(body);
  }

  @Post('reversals')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Release all or part of an authorisation’s hold',
    description:
      'Name the authorisation by authorisation_id, or by original_network_transaction_id (the network’s id of the authorisation): a timeout reversal of one the network never got an answer to gives back any hold placed for it all the same. Without amount, all that is still held; an amount above what is still held releases what is (the answer says how much). A hold already cleared, reversed or expired is left as it is (released 0). A partial reversal (amount) needs network_transaction_id (400 without), so a retry or a replay gives back once.',
  })
  @ApiOkResponse({ type: ReversalAnswerDto })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: 'No such authorisation (naming authorisation_id or original_network_transaction_id)',
  })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'authorisation_declined' })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'idempotency_key_reused' })
  reverse(@Body() body: ReversalRequestDto): Promise<ReversalAnswerDto> {
    return this.network.reverse(body);
  }

  @Post('refunds')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Credit a merchant’s refund to the card’s account',
    description:
      'Credited even to a frozen account; refused (409) for a closed one. Name the card by authorisation_id (the payment refunded) or pan. A refund naming its authorisation is checked against that payment: its refunds may not come to more than it cleared (nothing before it clears), and none is taken once the bank reversed the payment (a dispute). Idempotent by network_transaction_id.',
  })
  @ApiOkResponse({ type: RefundAnswerDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such authorisation or card' })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description:
      'account_closed, authorisation_declined, already_reversed (the bank reversed that payment: a dispute)',
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description:
      'currency_mismatch, card_mismatch (pan is not the authorisation’s card), idempotency_key_reused, refund_exceeds_payment (naming amount: more than the payment cleared, less its earlier refunds)',
  })
  refund(@Body() body: RefundRequestDto): Promise<RefundAnswerDto> {
    return this.network.refund(body);
  }
}
