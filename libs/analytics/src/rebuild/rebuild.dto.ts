import { IsUuid } from '@protobank/platform';
import { ApiProperty } from '@nestjs/swagger';

export class RebuildDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['running', 'completed', 'failed'], example: 'running' }) status: string;
  @ApiProperty({ format: 'uuid', description: 'The staff member who asked for it' }) requested_by: string;
  @ApiProperty({ format: 'date-time' }) started_at: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finished_at: string | null;
  @ApiProperty({ type: 'integer', example: 0, description: 'Ledger entries read so far' }) entries: number;
  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description:
      "Why it failed: the rebuild's own reason, a service's error code, or only a database error's SQLSTATE (the app's log has the whole error under rebuild_id)",
  })
  error: string | null;
}

export class RebuildIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUuid()
  id: string;
}
