import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Optional } from '@protobank/platform';
import { Type } from 'class-transformer';
import { IsBoolean, IsObject, ValidateNested } from 'class-validator';
import { CHANNELS } from './preference-rules';

export class ChannelChoicesDto {
  @ApiPropertyOptional({ example: true }) @Optional() @IsBoolean() in_app?: boolean;
  @ApiPropertyOptional({ example: true }) @Optional() @IsBoolean() email?: boolean;
  @ApiPropertyOptional({ example: false }) @Optional() @IsBoolean() sms?: boolean;
  @ApiPropertyOptional({ example: false }) @Optional() @IsBoolean() push?: boolean;
}

const choices = () =>
  function (target: object, key: string) {
    // class-transformer takes a class with a `push` property (ChannelChoicesDto has one) for an array
    // type: an array sent here became an instance it then called push() on (a 500), and `[]` an empty
    // one that passed. Declared as a plain object, an array stays an array, which IsObject refuses.
    Reflect.defineMetadata('design:type', Object, target, key);
    Optional()(target, key);
    IsObject()(target, key);
    ValidateNested()(target, key);
    Type(() => ChannelChoicesDto)(target, key);
  };

/** Any subset of categories and channels; what is left out stays as it was. */
export class UpdatePreferencesDto {
  @ApiPropertyOptional({ type: ChannelChoicesDto, example: { sms: true } })
  @choices()
  transactions?: ChannelChoicesDto;

  @ApiPropertyOptional({
    type: ChannelChoicesDto,
    description: 'Standing orders and scheduled payments: paid, or not paid and why',
    example: { push: true },
  })
  @choices()
  payments?: ChannelChoicesDto;

  @ApiPropertyOptional({
    type: ChannelChoicesDto,
    description: 'in_app and email cannot be switched off (422 preference_locked)',
    example: { push: true },
  })
  @choices()
  security?: ChannelChoicesDto;

  @ApiPropertyOptional({ type: ChannelChoicesDto }) @choices() account?: ChannelChoicesDto;
  @ApiPropertyOptional({ type: ChannelChoicesDto, example: { email: true } })
  @choices()
  marketing?: ChannelChoicesDto;
}

export class ChannelsDto {
  @ApiProperty({ example: true }) in_app: boolean;
  @ApiProperty({ example: true }) email: boolean;
  @ApiProperty({ example: false }) sms: boolean;
  @ApiProperty({ example: false }) push: boolean;
}

export class PreferencesDto {
  @ApiProperty({ type: ChannelsDto }) transactions: ChannelsDto;
  @ApiProperty({ type: ChannelsDto, description: 'Standing orders and scheduled payments' })
  payments: ChannelsDto;
  @ApiProperty({ type: ChannelsDto }) security: ChannelsDto;
  @ApiProperty({ type: ChannelsDto }) account: ChannelsDto;
  @ApiProperty({ type: ChannelsDto, description: 'Off everywhere until the customer opts in' })
  marketing: ChannelsDto;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'array', items: { type: 'string', enum: [...CHANNELS] } },
    example: { security: ['in_app', 'email'] },
    description: 'Channels that are always on, by category (today security: in_app and email)',
  })
  locked: Record<string, readonly string[]>;
}
