import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { ValidateIf } from 'class-validator';
import { AppError, type ErrorDetail } from '../errors/app-error';
import { clip } from './json-limits';

/** Fields a validation error lists (in `details` and `message`); the rest are counted, not listed. */
export const MAX_LISTED_FIELDS = 10;
/** A constraint message may repeat a client-chosen name; none needs more than this. */
const MAX_MESSAGE_LENGTH = 160;

/** Checks of a value's type: when one fails, what the others say (its size, its form) tells nothing more. */
const TYPE_CHECKS = new Set(['isInt', 'isNumber', 'isString', 'isBoolean', 'isArray', 'isObject', 'isIn']);

/**
 * What one failing field is told: that it is missing (or null where null means nothing), else what is
 * wrong with its type, else every check it failed. A missing amount was told three things, one of them a
 * maximum of 2^53 that is no amount's real limit.
 */
function messagesOf(e: ValidationError): string[] {
  const constraints = e.constraints ?? {};
  const keys = Object.keys(constraints);
  if (keys.length === 0) return [];
  if (constraints.whitelistValidation !== undefined) return [constraints.whitelistValidation];
  // class-validator leaves `value` out of an error whose value had nested errors: missing is without them.
  if (e.value === undefined && !e.children?.length) return [`${e.property} is required`];
  if (e.value === null) return [`${e.property} must not be null`];
  const types = keys.filter((k) => TYPE_CHECKS.has(k));
  // A field's constraints may share one message (limit's do): listed once.
  return [...new Set((types.length > 0 ? types : keys).map((k) => constraints[k]))];
}

function flatten(errors: ValidationError[], parent = ''): ErrorDetail[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = messagesOf(e).map((message) => ({ field, message }));
    return [...own, ...flatten(e.children ?? [], field)];
  });
}

/** Fields the route declares come first, unknown ones after: when only a few are listed, they matter most. */
function declaredFirst(errors: ValidationError[]): ValidationError[] {
  const unknown = (e: ValidationError) => e.constraints?.whitelistValidation !== undefined;
  return [...errors.filter((e) => !unknown(e)), ...errors.filter(unknown)];
}

/**
 * The 400 for failing fields: the first MAX_LISTED_FIELDS fields with their messages, names and
 * messages clipped, and a count of the fields left out, so the error stays small whatever was sent.
 */
export function validationError(details: ErrorDetail[]): AppError {
  const fields = [...new Set(details.map((d) => d.field ?? ''))];
  const listed = new Set(fields.slice(0, MAX_LISTED_FIELDS));
  const more = fields.length - listed.size;
  const shown: ErrorDetail[] = details
    .filter((d) => listed.has(d.field ?? ''))
    .map((d) => ({ field: clip(d.field ?? ''), message: clip(d.message, MAX_MESSAGE_LENGTH) }));
  const names = [...listed].map((f) => clip(f)).join(', ');
  if (more > 0) shown.push({ message: `${more} more field${more === 1 ? '' : 's'} not listed` });
  return AppError.badRequest(
    'validation_failed',
    `Invalid request: ${names}${more > 0 ? ` and ${more} more` : ''}`,
    shown,
  );
}

/**
 * A change that names nothing to change is 400 validation_failed naming `body`: a PATCH of `{}`, or of
 * fields all undefined (the validation pipe's DTO instance may carry every declared field, sent or not,
 * so counting its keys finds none missing). A field sent as null counts: it removes a value.
 */
export function assertSomethingToChange(body: object, message: string, detail: string): void {
  if (Object.values(body).some((value) => value !== undefined)) return;
  throw AppError.badRequest('validation_failed', `Invalid request: ${message}`, [
    { field: 'body', message: detail },
  ]);
}

/** Global validation: unknown fields are rejected, and failing fields are named in `details`. */
export function validationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => validationError(flatten(declaredFirst(errors))),
  });
}

/**
 * For optional body fields where null means nothing: the field may be left out, but when present it is
 * validated, so an explicit null fails (class-validator's @IsOptional would let null through).
 */
export const Optional = () => ValidateIf((_object: object, value: unknown) => value !== undefined);

/** A field that may be left out (unchanged) or sent as null (removed); any other value is validated. */
export const Removable = () =>
  ValidateIf((_object: object, value: unknown) => value !== undefined && value !== null);
