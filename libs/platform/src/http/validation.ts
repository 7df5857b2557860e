import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { ValidateIf } from 'class-validator';
import { AppError, type ErrorDetail } from '../errors/app-error';

function flatten(errors: ValidationError[], parent = ''): ErrorDetail[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(e.children ?? [], field)];
  });
}

/** Global validation: unknown fields are rejected, and every failing field is named in `details`. */
export function validationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => {
      const details = flatten(errors);
      const fields = [...new Set(details.map((d) => d.field))].join(', ');
      return AppError.badRequest('validation_failed', `Invalid request: ${fields}`, details);
    },
  });
}

/**
 * For optional body fields where null means nothing: the field may be left out, but when present it is
 * validated, so an explicit null fails (class-validator's @IsOptional would let null through).
 */
export const Optional = () => ValidateIf((_object: object, value: unknown) => value !== undefined);
