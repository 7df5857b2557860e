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

  it("maps Fastify's request errors by their status without echoing their internals", () => {
    const big = Object.assign(new Error('Request body is too large'), {
      statusCode: 413,
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
    });
    expect(toErrorBody(big)).toEqual({
      status: 413,
      code: 'payload_too_large',
      message: 'Bad request',
      details: [],
    });
    const media = Object.assign(new Error('Unsupported Media Type: text/plain'), {
      statusCode: 415,
      code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
    });
    expect(toErrorBody(media)).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    // A Fastify error that is not the client's fault stays a 500.
    const internal = Object.assign(new Error('x'), { statusCode: 500, code: 'FST_ERR_SOMETHING' });
    expect(toErrorBody(internal)).toMatchObject({ status: 500, code: 'internal_error' });
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
    // A job queue that fails fast while Redis is away, and a Redis that hangs past commandTimeout.
    expect(
      toErrorBody(new Error("Stream isn't writeable and enableOfflineQueue options is false")),
    ).toMatchObject({ status: 503 });
    expect(toErrorBody(new Error('Command timed out'))).toMatchObject({ status: 503 });
  });

  it('turns anything else into a 500 that reveals nothing', () => {
    expect(toErrorBody(new Error('password=hunter2 at db:5432'))).toEqual({
      status: 500,
      code: 'internal_error',
      message: 'Internal server error',
      details: [],
    });
    // A handler may reject with nothing at all: still the 500, not a TypeError here.
    for (const nothing of [null, undefined]) expect(toErrorBody(nothing).status).toBe(500);
  });

  it('answers a request whose client went away mid-body as a 400, not as an outage', () => {
    // What Node raises on the body stream when its socket closes (a client gone, or a timeout).
    const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 });
    expect(toErrorBody(aborted)).toMatchObject({ status: 400, code: 'bad_request' });
    // Redis or Postgres resetting their connection is still one.
    const redis = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    expect(toErrorBody(redis)).toMatchObject({ status: 503 });
  });
});
