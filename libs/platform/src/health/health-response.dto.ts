import { ApiProperty } from '@nestjs/swagger';

export class HealthResponseDto {
  @ApiProperty({ example: 'ok', enum: ['ok', 'degraded'] })
  status: string;

  @ApiProperty({
    example: { postgres: { status: 'up' }, redis: { status: 'up' }, migrations: { status: 'up' } },
  })
  info: Record<string, unknown>;

  @ApiProperty({ example: {} })
  error: Record<string, unknown>;

  @ApiProperty({
    example: { postgres: { status: 'up' }, redis: { status: 'up' }, migrations: { status: 'up' } },
  })
  details: Record<string, unknown>;
}
