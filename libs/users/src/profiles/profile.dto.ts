import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsPlainText, IsPersonName, Optional, Removable } from '@protobank/platform';
import { IsISO31661Alpha2, IsObject, Matches, ValidateNested } from 'class-validator';
import { DATE_ONLY } from '../kyc/kyc.dto';
import { E164_PHONE, UserDto } from '@protobank/contracts';

export class AddressDto {
  @ApiProperty({ example: '1 High Street', maxLength: 200 })
  @IsPlainText(1, 200)
  line1: string;

  @ApiPropertyOptional({ example: 'Flat 2', maxLength: 200 })
  @Optional()
  @IsPlainText(1, 200)
  line2?: string;

  @ApiProperty({ example: 'London', maxLength: 100 })
  @IsPlainText(1, 100)
  city: string;

  @ApiProperty({ example: 'SW1A 1AA', maxLength: 20 })
  @IsPlainText(1, 20)
  postcode: string;

  @ApiProperty({ example: 'GB' })
  @IsISO31661Alpha2()
  country: string;
}

export class UpdateProfileDto {
  @ApiPropertyOptional({
    example: 'Alice Jones',
    maxLength: 200,
    description:
      'Legal name, as at registration (letters, each word in one script). Locked while a KYC submission is reviewed and once verified (409 identity_locked): then it changes only through a new KYC submission carrying it.',
  })
  @Optional()
  @IsPersonName(200)
  full_name?: string;

  @ApiPropertyOptional({
    format: 'date',
    example: '1990-04-12',
    description:
      'Locked like full_name: KYC checks it. Checked as KYC checks it: 400 when not a real date, in the future or more than 130 years ago, 422 underage under 18.',
  })
  @Optional()
  @Matches(DATE_ONLY, { message: 'date_of_birth must be a date as YYYY-MM-DD' })
  date_of_birth?: string;

  @ApiPropertyOptional({
    example: '+447700900123',
    nullable: true,
    type: String,
    description: 'E.164; null removes it (no SMS is sent then).',
  })
  @Removable()
  @Matches(E164_PHONE, { message: 'phone must be an E.164 number such as +447700900123' })
  phone?: string | null;

  @ApiPropertyOptional({ type: AddressDto, nullable: true, description: 'null removes it.' })
  @Removable()
  @IsObject()
  @ValidateNested()
  @Type(() => AddressDto)
  address?: AddressDto | null;
}

export class ProfileDto extends UserDto {
  @ApiProperty({
    example: null,
    nullable: true,
    type: String,
    description:
      'Your verified name in Latin letters as your identity document spells it (given with KYC: POST /users/me/kyc latin_name); null when none was given. Your cards carry it.',
  })
  latin_name: string | null;
  @ApiProperty({
    example: false,
    description: 'Disabled by staff (such a user cannot sign in, so false here)',
  })
  disabled: boolean;
  @ApiProperty({ example: '1990-04-12', nullable: true, type: String, format: 'date' })
  date_of_birth: string | null;
  @ApiProperty({ example: '+447700900123', nullable: true, type: String })
  phone: string | null;
  @ApiProperty({ type: AddressDto, nullable: true })
  address: AddressDto | null;
}
