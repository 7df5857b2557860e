import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsString, Length, MaxLength } from 'class-validator';

export class RegisterDto {
  @ApiProperty({ example: 'alice@example.com' })
  @IsEmail()
  @MaxLength(254)
  email: string;

  @ApiProperty({ example: 'correct horse battery staple', minLength: 12, maxLength: 128 })
  @IsString()
  @Length(12, 128)
  password: string;

  @ApiProperty({ example: 'Alice Jones', maxLength: 200 })
  @IsString()
  @Length(1, 200)
  full_name: string;
}
