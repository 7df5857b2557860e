import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
// eslint-disable-next-line no-restricted-imports -- the one place it is meant to be used
import { IsUUID } from 'class-validator';

/**
 * A UUID the API takes (path, query or body), validated and put in lower case. Postgres compares uuids
 * whatever their case, but the checks made in TypeScript (the caller's own id, a Map of rows by id, a
 * Redis key) compare strings: an id sent in upper case passed Postgres and slipped past those (a staff
 * member approving their own KYC, disabling a user without ending their sessions). So every id is lower
 * case before any code sees it, as Postgres returns ids; the lint forbids class-validator's IsUUID
 * elsewhere.
 */
export const IsUuid = () =>
  applyDecorators(
    IsUUID(),
    Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value)),
  );
