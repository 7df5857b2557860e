import { ApiProperty } from '@nestjs/swagger';
import { IsNewEmailAddress, IsPersonName } from '@protobank/platform';
import { IsString, Length } from 'class-validator';

export class RegisterDto {
  @ApiProperty({
    example: 'alice@example.com',
    maxLength: 254,
    description:
      'Stored NFKC-normalised, trimmed and lower-cased (full-width "ａｌｉｃｅ" is "alice"), a domain\'s xn-- labels as they read (xn--bcher-kva is bücher); invisible, control and space characters are refused, and so are quoted local parts, % and !, and a part (before the @, or a label between dots) mixing scripts, as a Cyrillic "а" among Latin letters (Latin may go with Han, Kana, Bopomofo or Hangul)',
  })
  @IsNewEmailAddress()
  email: string;

  @ApiProperty({ example: 'correct horse battery staple', minLength: 12, maxLength: 128 })
  @IsString()
  @Length(12, 128)
  password: string;

  @ApiProperty({
    example: 'Alice Jones',
    maxLength: 200,
    description:
      'Legal name, as KYC will verify it: letters, digits, spaces and the punctuation names use, each word in one script (trimmed, NFC; styled and full-width letters stored as the plain ones)',
  })
  @IsPersonName(200)
  full_name: string;
}
