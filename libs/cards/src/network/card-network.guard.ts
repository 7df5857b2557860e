import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { AppError } from '@protobank/platform';
import type { FastifyRequest } from 'fastify';
import { CardKeys } from '../data/card-keys';
import { SIGNATURE_HEADER, signatureProblem } from './signature';

/**
 * The card network's routes are signed, never user-authenticated: the request must carry a valid
 * X-Card-Network-Signature over its method, path and exact body (see signature.ts) under one of CARD_NETWORK_SECRET's
 * secrets. Anything else is 401 before the body is looked at, and an Authorization header changes
 * nothing (the routes are @Public: a customer's token neither helps nor is checked).
 */
@Injectable()
export class CardNetworkGuard implements CanActivate {
  constructor(private readonly keys: CardKeys) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const header = req.headers[SIGNATURE_HEADER];
    const problem = signatureProblem(
      typeof header === 'string' ? header : undefined,
      { method: req.method, path: req.url.split('?')[0], rawBody: req.rawBody ?? '' },
      this.keys.networkSecrets,
      Math.floor(Date.now() / 1000),
    );
    if (problem) {
      throw new AppError(401, 'invalid_signature', SIGNATURE_MESSAGES[problem], [
        { field: 'X-Card-Network-Signature', message: SIGNATURE_MESSAGES[problem] },
      ]);
    }
    return true;
  }
}

const SIGNATURE_MESSAGES = {
  missing: 'The request is not signed',
  malformed:
    'The signature header is not t=<unix seconds>,v2=<hex HMAC-SHA256 of "<t>.<METHOD> <path>.<raw body>">',
  stale: 'The signature is more than five minutes old (or ahead)',
  mismatch: 'The signature does not match the request (its method, path and body)',
} as const;
