import { ForbiddenException, NotFoundException } from '@nestjs/common';
import { AppError } from '../errors/app-error';
import { toErrorBody } from './error-body';

describe('toErrorBody', () => {
  it('keeps a domain error as thrown', () => {
    const err = AppError.unprocessable('insufficient_funds', 'Not enough money', [
      { field: 'amount', message: 'too large' },
    ]);
    expect(toErrorBody(err)).toEqual({
      status: 422,
      code: 'insufficient_funds',
      message: 'Not enough money',
      details: [{ field: 'amount', message: 'too large' }],
    });
  });

  it('gives framework exceptions the conventional code of their status', () => {
    expect(toErrorBody(new NotFoundException('Cannot GET /x'))).toEqual({
      status: 404,
      code: 'not_found',
      message: 'Cannot GET /x',
      details: [],
    });
    expect(toErrorBody(new ForbiddenException())).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('maps body-parser failures to 400 and 413 without echoing their internals', () => {
    const parse = Object.assign(new SyntaxError('Unexpected token } in JSON at position 9'), {
      status: 400,
      type: 'entity.parse.failed',
    });
    expect(toErrorBody(parse)).toEqual({
      status: 400,
      code: 'malformed_body',
      message: 'Malformed JSON body',
      details: [],
    });
    const big = Object.assign(new Error('request entity too large'), {
      status: 413,
      type: 'entity.too.large',
    });
    expect(toErrorBody(big)).toMatchObject({ status: 413, code: 'payload_too_large' });
  });

  it('maps other exposed client errors by their status (a gzip body that is not gzip)', () => {
    const zlib = Object.assign(new Error('incorrect header check'), {
      status: 400,
      expose: true,
      code: 'Z_DATA_ERROR',
    });
    expect(toErrorBody(zlib)).toEqual({
      status: 400,
      code: 'bad_request',
      message: 'Bad request body',
      details: [],
    });
  });

  it('answers an unreachable Redis or database with 503, not 500', () => {
    const redis = Object.assign(new Error('Reached the max retries per request limit'), {
      name: 'MaxRetriesPerRequestError',
    });
    expect(toErrorBody(redis)).toMatchObject({ status: 503, code: 'dependency_unavailable' });
    expect(toErrorBody(new Error('timeout exceeded when trying to connect'))).toMatchObject({ status: 503 });
    expect(
      toErrorBody(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    ).toMatchObject({ status: 503 });
  });

  it('turns anything else into a 500 that reveals nothing', () => {
    expect(toErrorBody(new Error('password=hunter2 at db:5432'))).toEqual({
      status: 500,
      code: 'internal_error',
      message: 'Internal server error',
      details: [],
    });
  });
});
