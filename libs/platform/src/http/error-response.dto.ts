import { ApiProperty, getSchemaPath } from '@nestjs/swagger';

export class ErrorDetailDto {
  @ApiProperty({ example: 'email', required: false })
  field?: string;

  @ApiProperty({ example: 'email must be an email' })
  message: string;
}

/** The one error shape of every Protobank error response. */
export class ErrorResponseDto {
  @ApiProperty({ type: 'integer', example: 400 })
  status: number;

  @ApiProperty({ example: 'validation_failed' })
  code: string;

  @ApiProperty({ example: 'Request validation failed' })
  message: string;

  @ApiProperty({ type: [ErrorDetailDto] })
  details: ErrorDetailDto[];

  @ApiProperty({ example: '6f1c1c1e-3a55-4e0b-9a1e-2b8f4d0c9a10' })
  request_id: string;
}

/**
 * An error response documented as JSON on a route that answers something else when it succeeds
 * (`@ApiProduces('text/plain')` would document its errors as text too): spread into `@Api…Response`,
 * with `@ApiExtraModels(ErrorResponseDto)` on the controller.
 */
export const JSON_ERROR = {
  content: { 'application/json': { schema: { $ref: getSchemaPath(ErrorResponseDto) } } },
};
