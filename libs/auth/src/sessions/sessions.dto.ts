import { ApiProperty } from '@nestjs/swagger';
import { IsEmailAddress } from '@protobank/platform';
import { IsString, IsUUID, Length } from 'class-validator';

export class LoginDto {
  @ApiProperty({
    example: 'alice@example.com',
    description: 'Normalised as at registration (NFKC, lower case)',
  })
  @IsEmailAddress()
  email: string;

  @ApiProperty({ example: 'correct horse battery staple' })
  @IsString()
  @Length(1, 128)
  password: string;
}

export class RefreshDto {
  @ApiProperty({
    example: '3f0b5a9e-6a7c-4d0e-9b8a-1c2d3e4f5a6b.q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c',
  })
  @IsString()
  @Length(1, 200)
  refresh_token: string;
}

export class TokenPairDto {
  @ApiProperty({ example: 'eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2ln' })
  access_token: string;
  @ApiProperty({
    example: '3f0b5a9e-6a7c-4d0e-9b8a-1c2d3e4f5a6b.q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c',
  })
  refresh_token: string;
  @ApiProperty({ example: 'Bearer' })
  token_type: 'Bearer';
  @ApiProperty({ example: 900, description: 'Seconds until the access token expires' })
  expires_in: number;
}

export class SessionDto {
  @ApiProperty({ example: '3f0b5a9e-6a7c-4d0e-9b8a-1c2d3e4f5a6b' })
  id: string;
  @ApiProperty({ example: '2026-11-21T09:30:00.000Z' })
  created_at: string;
  @ApiProperty({ example: '2026-11-21T09:45:00.000Z' })
  last_used_at: string;
  @ApiProperty({ example: '2026-11-28T09:30:00.000Z' })
  expires_at: string;
  @ApiProperty({ example: '203.0.113.7', nullable: true })
  ip: string | null;
  @ApiProperty({ example: 'Mozilla/5.0', nullable: true })
  user_agent: string | null;
  @ApiProperty({ example: true, description: 'The session of the token making this request' })
  current: boolean;
}

export class SessionListDto {
  @ApiProperty({ type: [SessionDto] })
  data: SessionDto[];
  @ApiProperty({ example: null, nullable: true, type: String })
  next_cursor: string | null;
}

export class SessionIdParams {
  @ApiProperty({ format: 'uuid', example: '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90' })
  @IsUUID()
  id: string;
}
