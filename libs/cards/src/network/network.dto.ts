import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MAX_CARD_AMOUNT, type CardChannel, type CardDeclineReason } from '@protobank/contracts';
import { IsAmount, IsThirdPartyText, IsUuid, Optional } from '@protobank/platform';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO31661Alpha2, IsObject, Matches, Max, Min, ValidateNested } from 'class-validator';

export const CHANNELS: readonly CardChannel[] = ['online', 'contactless', 'chip', 'atm'];

const IsNetworkTransactionId = (description: string) =>
  function (target: object, property: string) {
    ApiProperty({ example: 'NTX-20261201-000042', maxLength: 64, description })(target, property);
    Matches(/^[\x21-\x7e]{1,64}$/, {
      message: '$property must be 1 to 64 visible ASCII characters',
    })(target, property);
  };

/**
 * A currency as the network sends it: any ISO 4217-shaped code. One we do not hold is not a bad request
 * but a decline (currency_not_supported): the network asks, we answer.
 */
const IsNetworkCurrency = () =>
  function (target: object, property: string) {
    ApiProperty({ example: 'GBP', description: 'ISO 4217 code' })(target, property);
    Matches(/^[A-Z]{3}$/, { message: '$property must be an ISO 4217 code such as GBP' })(target, property);
  };

export class NetworkMerchantDto {
  @ApiProperty({
    example: 'Starbucks',
    description:
      'Up to 100 characters: longer is cut, and control or invisible characters are shown as U+FFFD rather than refused',
  })
  @IsThirdPartyText(1, 100)
  name: string;

  @ApiProperty({ example: '5814', description: 'ISO 18245 merchant category code (MCC), four digits' })
  @Matches(/^\d{4}$/, { message: '$property must be four digits' })
  category_code: string;

  @ApiProperty({ example: 'London', description: 'Up to 60 characters, taken as the name is' })
  @IsThirdPartyText(1, 60)
  city: string;

  @ApiProperty({ example: 'GB', description: 'ISO 3166-1 alpha-2' })
  @IsISO31661Alpha2()
  country: string;
}

export class AuthorisationRequestDto {
  @IsNetworkTransactionId('The network’s id of this authorisation: a retry with it gets the first answer')
  network_transaction_id: string;

  @ApiProperty({ example: '5355220012345678', description: 'The full card number (PAN)' })
  @Matches(/^\d{12,19}$/, { message: '$property must be 12 to 19 digits' })
  pan: string;

  @ApiProperty({ type: 'integer', example: 11, minimum: 1, maximum: 12 })
  @IsInt()
  @Min(1)
  @Max(12)
  expiry_month: number;

  @ApiProperty({ type: 'integer', example: 2029 })
  @IsInt()
  @Min(2000)
  @Max(2099)
  expiry_year: number;

  @ApiPropertyOptional({
    example: '123',
    description:
      'The card security code. Required for online (card-not-present) payments: one sent without it is declined invalid_cvc. Card-present channels (chip, contactless, atm) need none; one sent is checked.',
  })
  @Optional()
  @Matches(/^\d{3,4}$/, { message: '$property must be 3 or 4 digits' })
  cvc?: string;

  @IsAmount(2550)
  amount: number;

  @IsNetworkCurrency()
  currency: string;

  @ApiProperty({ type: NetworkMerchantDto })
  @IsObject()
  @ValidateNested()
  @Type(() => NetworkMerchantDto)
  merchant: NetworkMerchantDto;

  @ApiProperty({ enum: CHANNELS, example: 'contactless' })
  @IsIn(CHANNELS)
  channel: CardChannel;
}

/**
 * What the network is told of a decline: a card's decline reason (never `account_frozen`, which it is
 * told as `card_blocked`), or `reversed` for an id it reversed in full itself (recorded as no decline).
 */
export type NetworkDeclineReason = Exclude<CardDeclineReason, 'account_frozen'> | 'reversed';

/** Every one of them, for the API's description (a record, so that the compiler checks it has all). */
const NETWORK_DECLINE_REASONS = Object.keys({
  insufficient_funds: true,
  card_frozen: true,
  card_blocked: true,
  card_cancelled: true,
  expired: true,
  invalid_card: true,
  invalid_cvc: true,
  limit_exceeded: true,
  category_blocked: true,
  channel_disabled: true,
  currency_not_supported: true,
  reversed: true,
} satisfies Record<NetworkDeclineReason, true>);

export class AuthorisationAnswerDto {
  @ApiProperty({ example: true })
  approved: boolean;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'When approved: the hold, for clearing or reversing it',
  })
  authorisation_id?: string;

  @ApiPropertyOptional({
    enum: NETWORK_DECLINE_REASONS,
    example: 'insufficient_funds',
    description:
      'When declined. `reversed`: the network reversed this id in full (before it came, or since): nothing is held',
  })
  decline_reason?: NetworkDeclineReason;
}

export class ClearingRequestDto {
  @IsNetworkTransactionId('The network’s id of this clearing: one posting per id, a retry replays it')
  network_transaction_id: string;

  @ApiPropertyOptional({
    format: 'uuid',
    description:
      'The authorisation cleared. Without one the clearing is a forced post: give pan and merchant instead',
  })
  @Optional()
  @IsUuid()
  authorisation_id?: string;

  @IsAmount(2550)
  amount: number;

  @IsNetworkCurrency()
  currency: string;

  @ApiPropertyOptional({
    example: '5355220012345678',
    description:
      'The card: required for a forced post; with authorisation_id, it must be that card (422 card_mismatch)',
  })
  @Optional()
  @Matches(/^\d{12,19}$/, { message: '$property must be 12 to 19 digits' })
  pan?: string;

  @ApiPropertyOptional({ type: NetworkMerchantDto, description: 'A forced post only' })
  @Optional()
  @IsObject()
  @ValidateNested()
  @Type(() => NetworkMerchantDto)
  merchant?: NetworkMerchantDto;
}

export class ClearingAnswerDto {
  @ApiProperty({ example: true }) cleared: true;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) authorisation_id: string | null;
  @ApiProperty({ format: 'uuid' }) transaction_id: string;
  @ApiProperty({ type: 'integer', example: 2850 }) amount: number;
  @ApiProperty({ example: 'GBP' }) currency: string;
  @ApiProperty({ description: 'Posted without an active hold (none, or it had lapsed or been reversed)' })
  forced: boolean;
}

export class ReversalRequestDto {
  @ApiPropertyOptional({
    format: 'uuid',
    description: 'The authorisation as answered; or give original_network_transaction_id',
  })
  @Optional()
  @IsUuid()
  authorisation_id?: string;

  @ApiPropertyOptional({
    example: 'NTX-20261201-000042',
    maxLength: 64,
    description:
      'The network’s id of the authorisation reversed, instead of authorisation_id: how the network reverses one it never got an answer to (it timed out), whose hold the ledger may have placed all the same',
  })
  @Optional()
  @Matches(/^[\x21-\x7e]{1,64}$/, { message: '$property must be 1 to 64 visible ASCII characters' })
  original_network_transaction_id?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: Number(MAX_CARD_AMOUNT),
    example: 500,
    description: 'Minor units to give back; all that is still held when left out',
  })
  @Optional()
  @IsInt({ message: '$property must be an integer number of minor units' })
  @Min(1)
  // The ledger's bound on any card amount: above it, a 400 here naming the field, not one from the ledger.
  @Max(Number(MAX_CARD_AMOUNT), { message: `$property must not exceed ${MAX_CARD_AMOUNT} minor units` })
  amount?: number;

  @ApiPropertyOptional({
    example: 'NTX-20261201-000043',
    maxLength: 64,
    description:
      'The network’s id of this reversal: required with amount (a retried partial reversal then gives back once); a full reversal may leave it out',
  })
  @Optional()
  @Matches(/^[\x21-\x7e]{1,64}$/, { message: '$property must be 1 to 64 visible ASCII characters' })
  network_transaction_id?: string;
}

export class ReversalAnswerDto {
  @ApiProperty({ format: 'uuid' }) authorisation_id: string;
  @ApiProperty({ enum: ['pending', 'reversed', 'cleared', 'expired'], example: 'reversed' }) status: string;
  @ApiProperty({ type: 'integer', description: 'Given back by this request', example: 2550 })
  released: number;
  @ApiProperty({ type: 'integer', description: 'Still held', example: 0 }) remaining: number;
}

export class RefundRequestDto {
  @IsNetworkTransactionId('The network’s id of this refund: one credit per id, a retry replays it')
  network_transaction_id: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'The card payment refunded; or give pan' })
  @Optional()
  @IsUuid()
  authorisation_id?: string;

  @ApiPropertyOptional({
    example: '5355220012345678',
    description: 'The card, when no authorisation_id; with one, it must be that card (422 card_mismatch)',
  })
  @Optional()
  @Matches(/^\d{12,19}$/, { message: '$property must be 12 to 19 digits' })
  pan?: string;

  @IsAmount(2550)
  amount: number;

  @IsNetworkCurrency()
  currency: string;

  @ApiPropertyOptional({
    type: NetworkMerchantDto,
    description: 'Who refunds: required with pan; the authorisation’s merchant by default',
  })
  @Optional()
  @IsObject()
  @ValidateNested()
  @Type(() => NetworkMerchantDto)
  merchant?: NetworkMerchantDto;
}

export class RefundAnswerDto {
  @ApiProperty({ example: true }) refunded: true;
  @ApiProperty({ format: 'uuid' }) transaction_id: string;
  @ApiProperty({ type: 'integer', example: 2550 }) amount: number;
  @ApiProperty({ example: 'GBP' }) currency: string;
}
