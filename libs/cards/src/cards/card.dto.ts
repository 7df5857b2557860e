import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CURRENCIES, MAX_CARD_AMOUNT, type Currency } from '@protobank/contracts';
import { IsUuid, Optional, PageQuery } from '@protobank/platform';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { CARDHOLDER_NAME } from '../data/cardholder-name';
import { CATEGORY_GROUPS, type CategoryGroup } from '../data/categories';

const UpperCaseTrimmed = () =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim().replace(/\s+/g, ' ').toUpperCase() : value,
  );

export const CARD_TYPES = ['virtual', 'physical'] as const;
export const CARD_STATUSES = ['active', 'frozen', 'cancelled'] as const;
/** What a customer gives when cancelling a card. */
export const CANCEL_REASONS = ['lost', 'stolen', 'closed'] as const;
/** What a cancelled card shows: the customer's reason, or account_closed (its account was closed). */
export const CANCELLED_BECAUSE = [...CANCEL_REASONS, 'account_closed'] as const;
export const AUTHORISATION_STATUSES = ['pending', 'cleared', 'reversed', 'expired', 'declined'] as const;
export const CHANNELS = ['online', 'contactless', 'chip', 'atm'] as const;

export class IssueCardDto {
  @ApiProperty({ format: 'uuid', description: 'Your active account the card spends from' })
  @IsUuid()
  account_id: string;

  @ApiProperty({ enum: CARD_TYPES, example: 'virtual' })
  @IsIn(CARD_TYPES)
  type: (typeof CARD_TYPES)[number];

  @ApiPropertyOptional({
    example: 'ALICE SMITH',
    maxLength: 26,
    description:
      "The name on the card: Latin letters, spaces and . ' -, up to 26 (upper-cased). It must be your name as the bank verified it (KYC), spelt in Latin letters (a name with a word in a script cards cannot carry: as the Latin spelling verified with it, latin_name): its words in order, each whole or as an initial (an apostrophe kept, left out or as a space: O'BRIEN, OBRIEN, O BRIEN), at least one whole and at least two when your name has two (e.g. ALICE J SMITH, A SMITH for Alice Jane Smith). Defaults to that name, names before the last shortened to initials when it is longer than 26",
  })
  @Optional()
  @UpperCaseTrimmed()
  @IsString()
  @Matches(CARDHOLDER_NAME, {
    message:
      '$property must be 1 to 26 Latin letters, spaces, apostrophes, dots or hyphens, starting with a letter',
  })
  cardholder_name?: string;
}

export class CardIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUuid()
  id: string;
}

export class CardLimitsDto {
  @ApiProperty({ type: 'integer', nullable: true, example: 50000, description: 'Minor units; null: none' })
  per_transaction: number | null;
  @ApiProperty({ type: 'integer', nullable: true, example: 100000, description: 'Minor units per bank day' })
  daily: number | null;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 500000,
    description: 'Minor units per bank month',
  })
  monthly: number | null;
  @ApiProperty({ example: true, description: 'Online and phone payments allowed' }) online: boolean;
  @ApiProperty({ example: true, description: 'Contactless payments allowed' }) contactless: boolean;
  @ApiProperty({ example: false, description: 'Cash machine withdrawals allowed' }) atm: boolean;
  @ApiProperty({ enum: CATEGORY_GROUPS, isArray: true, example: ['gambling'] })
  blocked_categories: CategoryGroup[];
}

export class CardDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) account_id: string;
  @ApiProperty({ enum: CARD_TYPES, example: 'virtual' }) type: 'virtual' | 'physical';
  @ApiProperty({ enum: ['visa', 'mastercard'], example: 'mastercard' }) brand: 'visa' | 'mastercard';
  @ApiProperty({ example: '4242', description: 'The last four digits: the only part of the number shown' })
  last4: string;
  @ApiProperty({ type: 'integer', example: 3 }) expiry_month: number;
  @ApiProperty({ type: 'integer', example: 2029 }) expiry_year: number;
  @ApiProperty({ example: 'ALICE SMITH' }) cardholder_name: string;
  @ApiProperty({ enum: CURRENCIES, example: 'GBP' }) currency: Currency;
  @ApiProperty({
    enum: CARD_STATUSES,
    example: 'active',
    description: 'Yours to set: frozen and unfrozen by you, cancelled for good',
  })
  status: (typeof CARD_STATUSES)[number];
  @ApiProperty({
    example: false,
    description: 'Blocked by the bank: declined whatever the status, until staff lift the block',
  })
  blocked: boolean;
  @ApiProperty({
    enum: CANCELLED_BECAUSE,
    nullable: true,
    example: null,
    description: "Why it was cancelled: the customer's reason, or account_closed (its account was closed)",
  })
  cancel_reason: (typeof CANCELLED_BECAUSE)[number] | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The card issued in its place' })
  replaced_by: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The card this one replaced' })
  replaces: string | null;
  @ApiProperty({ type: CardLimitsDto }) limits: CardLimitsDto;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ format: 'date-time' }) updated_at: string;
}

/** The answer to POST /cards: the only place besides a reveal where the number and the CVC appear. */
export class IssuedCardDto extends CardDto {
  @ApiProperty({
    example: '5355221234567897',
    description: 'The full card number: shown here and on reveal only',
  })
  pan: string;
  @ApiProperty({ example: '123', description: 'Derived, never stored: shown here and on reveal only' })
  cvc: string;
}

export class CardListDto {
  @ApiProperty({ type: [CardDto] }) data: CardDto[];
  @ApiProperty({ nullable: true, type: String }) next_cursor: string | null;
}

export class RevealCardDto {
  @ApiProperty({
    example: 'correct horse battery staple',
    description: 'Your current password, checked again',
  })
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  password: string;
}

export class CardDetailsDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: '5355221234567897' }) pan: string;
  @ApiProperty({ type: 'integer', example: 3 }) expiry_month: number;
  @ApiProperty({ type: 'integer', example: 2029 }) expiry_year: number;
  @ApiProperty({ example: '123' }) cvc: string;
  @ApiProperty({ example: 'ALICE SMITH' }) cardholder_name: string;
}

export class CancelCardDto {
  @ApiProperty({ enum: CANCEL_REASONS, example: 'lost' })
  @IsIn(CANCEL_REASONS)
  reason: (typeof CANCEL_REASONS)[number];

  @ApiPropertyOptional({
    example: true,
    description: 'Issue a new card, with a new number, on the same account (same type, name and limits)',
  })
  @Optional()
  @IsBoolean()
  replace?: boolean;
}

export class CancelledCardDto {
  @ApiProperty({ type: CardDto, description: 'The cancelled card' }) card: CardDto;
  @ApiProperty({
    type: CardDto,
    nullable: true,
    description: 'The new card (masked: reveal it to see its number), when replace was asked for',
  })
  replacement: CardDto | null;
}

/** A limit in minor units, or null for none. */
const Limit = (example: number, what: string) => (target: object, key: string) => {
  ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    minimum: 1,
    maximum: Number(MAX_CARD_AMOUNT),
    example,
    description: `${what} in minor units; null removes it`,
  })(target, key);
  IsOptional()(target, key);
  IsInt({ message: '$property must be an integer number of minor units, or null' })(target, key);
  Min(1, { message: '$property must be above zero (null removes the limit)' })(target, key);
  // The ledger checks daily and monthly at each authorisation, and takes none above this.
  Max(Number(MAX_CARD_AMOUNT))(target, key);
};

/**
 * A change of limits: only the fields given change. Unknown fields are refused (400 naming them), so no
 * other column of the card (status, block, owner) can be set through this route.
 */
export class UpdateLimitsDto {
  @Limit(50000, 'Largest single payment')
  per_transaction?: number | null;

  @Limit(100000, 'Total per bank day')
  daily?: number | null;

  @Limit(500000, 'Total per bank month')
  monthly?: number | null;

  @ApiPropertyOptional({ example: true })
  @Optional()
  @IsBoolean()
  online?: boolean;

  @ApiPropertyOptional({ example: true })
  @Optional()
  @IsBoolean()
  contactless?: boolean;

  @ApiPropertyOptional({ example: false })
  @Optional()
  @IsBoolean()
  atm?: boolean;

  @ApiPropertyOptional({
    enum: CATEGORY_GROUPS,
    isArray: true,
    example: ['gambling'],
    description: 'Merchant category groups to decline (replaces the list; [] blocks none)',
  })
  @Optional()
  @IsArray()
  @ArrayMaxSize(CATEGORY_GROUPS.length)
  @ArrayUnique()
  @IsIn(CATEGORY_GROUPS, { each: true, message: `$property may hold only ${CATEGORY_GROUPS.join(', ')}` })
  blocked_categories?: CategoryGroup[];
}

export class AuthorisationsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: AUTHORISATION_STATUSES })
  @IsOptional()
  @IsIn(AUTHORISATION_STATUSES)
  status?: (typeof AUTHORISATION_STATUSES)[number];
}

export class MerchantDto {
  @ApiProperty({ example: 'Starbucks' }) name: string;
  @ApiProperty({ example: '5814', description: 'ISO 18245 merchant category code' }) category_code: string;
  @ApiProperty({ example: 'London', nullable: true, type: String }) city: string | null;
  @ApiProperty({ example: 'GB', nullable: true, type: String }) country: string | null;
}

export class AuthorisationDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) card_id: string;
  @ApiProperty({
    type: 'integer',
    example: 2550,
    description: 'Authorised, in minor units (a forced post: what was posted)',
  })
  amount: number;
  @ApiProperty({
    type: String,
    pattern: '^[A-Z]{3}$',
    example: 'GBP',
    description:
      "ISO 4217, as the network sent it: the card's currency, or on a decline currency_not_supported one the " +
      'bank does not hold',
  })
  currency: string;
  @ApiProperty({ type: MerchantDto }) merchant: MerchantDto;
  @ApiProperty({ example: 'eating_out', enum: CATEGORY_GROUPS }) category: string;
  @ApiProperty({
    enum: CHANNELS,
    nullable: true,
    example: 'contactless',
    description: 'Null for a forced post (cleared with no authorisation)',
  })
  channel: string | null;
  @ApiProperty({
    enum: AUTHORISATION_STATUSES,
    example: 'pending',
    description:
      'pending: held; cleared: the merchant took it; reversed: the network gave the hold back before it cleared (staff reversing a cleared payment shows in reversed_by_id); expired; declined',
  })
  status: string;
  @ApiProperty({ nullable: true, type: String, example: null }) decline_reason: string | null;
  @ApiProperty({ type: 'integer', nullable: true, example: null, description: 'What the clearing posted' })
  cleared_amount: number | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: "The clearing's ledger entry" })
  transaction_id: string | null;
  @ApiProperty({ example: false, description: 'Cleared without a prior authorisation' }) forced: boolean;
  @ApiProperty({
    format: 'uuid',
    nullable: true,
    type: String,
    example: null,
    description:
      'Once staff reversed the cleared payment (a dispute upheld: the money went back): the reversing ledger entry. The status stays cleared',
  })
  reversed_by_id: string | null;
  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    example: null,
    description: 'When staff reversed it',
  })
  reversed_at: string | null;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ format: 'date-time' }) updated_at: string;
}

export class AuthorisationListDto {
  @ApiProperty({ type: [AuthorisationDto] }) data: AuthorisationDto[];
  @ApiProperty({ nullable: true, type: String }) next_cursor: string | null;
}

export class AdminCardsQuery extends PageQuery {
  @ApiProperty({ format: 'uuid', description: 'The customer whose cards to list' })
  @IsUuid()
  owner_id: string;
}

export class AdminCardDto extends CardDto {
  @ApiProperty({ format: 'uuid' }) owner_id: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) blocked_by: string | null;
  @ApiProperty({ nullable: true, type: String, example: null }) blocked_reason: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) blocked_at: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) cancelled_at: string | null;
}

export class AdminCardListDto {
  @ApiProperty({ type: [AdminCardDto] }) data: AdminCardDto[];
  @ApiProperty({ nullable: true, type: String }) next_cursor: string | null;
}
