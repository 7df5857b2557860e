import { ApiProperty } from '@nestjs/swagger';
import type { HealthCheckResult } from '@nestjs/terminus';

/** A 200 of /health: every check up (a check down is a 503 in the error shape, naming it). */
export class HealthResponseDto {
  @ApiProperty({ example: 'ok', enum: ['ok'] })
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

/** Terminus's result as the DTO has it: info and error are there even when empty. */
export const healthView = (result: HealthCheckResult): HealthResponseDto => ({
  status: result.status,
  info: result.info ?? {},
  error: result.error ?? {},
  details: result.details,
});
