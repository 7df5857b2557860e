import { Controller, Get, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiExtraModels,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import {
  AppError,
  CurrentCaller,
  ErrorResponseDto,
  JSON_ERROR,
  TokenInQuery,
  type Caller,
  type HttpReply,
  type HttpRequest,
} from '@protobank/platform';
import { isUUID } from 'class-validator';
import { NotificationsService } from '../store/notifications.service';
import { sseEvent, STREAM_REPLAY_MAX, StreamHub } from './stream-hub';

/** Notifications read per query while replaying (STREAM_REPLAY_MAX divides by it). */
const REPLAY_PAGE = 100;

@ApiTags('notifications')
@ApiExtraModels(ErrorResponseDto)
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('notifications')
export class StreamController {
  constructor(
    private readonly hub: StreamHub,
    private readonly notifications: NotificationsService,
  ) {}

  @Get('stream')
  @TokenInQuery()
  @ApiOperation({
    summary: 'Live notifications (Server-Sent Events)',
    description:
      'A text/event-stream: each notification arrives as `event: notification` with its id and the JSON of ' +
      'GET /notifications/{id}. A comment line every 15 s keeps proxies from closing it. The stream ends with ' +
      '`event: end` when the access token expires or the session ends: reconnect with a fresh token and ' +
      '`Last-Event-ID` to receive what was missed, oldest first, before anything new. Past ' +
      `${STREAM_REPLAY_MAX} missed notifications the replay stops with \`event: resync\` ` +
      `(data: \`{"reason":"too_many_missed","replayed":${STREAM_REPLAY_MAX}}\`), and an id that is not one of ` +
      'your notifications with `event: resync` (`{"reason":"unknown_last_event_id","replayed":0}`): in both cases ' +
      'reload GET /notifications, the stream goes on with what is new. Browsers (EventSource cannot set headers) may pass the ' +
      'token as `access_token`.',
  })
  @ApiProduces('text/event-stream')
  @ApiQuery({
    name: 'access_token',
    required: false,
    type: String,
    description:
      'The access token (access_token of POST /auth/login or /auth/refresh), for clients that cannot set the ' +
      'Authorization header (EventSource). Read only when no Bearer Authorization header is sent (the header ' +
      'wins); given more than once: 400.',
  })
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'The id of the last notification received',
  })
  @ApiOkResponse({ description: 'The event stream', content: { 'text/event-stream': {} } })
  @ApiBadRequestResponse({
    ...JSON_ERROR,
    description: 'Last-Event-ID is not a notification id, or access_token is given more than once',
  })
  async stream(
    @CurrentCaller() caller: Caller,
    @Req() req: HttpRequest,
    @Res() res: HttpReply,
  ): Promise<void> {
    // Read here rather than with @Headers(), which the OpenAPI document would list as a second,
    // required header beside the optional one above.
    const lastEventId = req.headers['last-event-id'] as string | undefined;
    if (lastEventId !== undefined && !isUUID(lastEventId)) {
      throw AppError.badRequest('validation_failed', 'Invalid request: Last-Event-ID', [
        { field: 'Last-Event-ID', message: 'Last-Event-ID must be the id of a notification' },
      ]);
    }
    const headers = {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      // nginx would otherwise buffer the stream and hold each event back.
      'x-accel-buffering': 'no',
    };
    if (req.method === 'HEAD') {
      // Fastify answers HEAD on every GET route. Written raw, a HEAD's headers wait for an end that a
      // stream never has: the request hung, holding its connection and a place among the user's streams.
      await res.status(200).headers(headers).send();
      return;
    }
    void res.hijack();
    const raw = res.raw;
    raw.writeHead(200, {
      ...(res.getHeaders() as Record<string, string | string[]>),
      ...headers,
      connection: 'keep-alive',
    });
    raw.write('retry: 3000\n\n');
    // Attached before the replay, so nothing falls between the two (a repeat is possible: ids tell), and
    // held until it ends: a live notification written mid-replay would move the client's last id past
    // the pages still to come, and a reconnect then would skip them.
    const client = this.hub.attach(caller.user_id, caller.session_id ?? '', req.tokenExpiresAt ?? 0, raw, {
      hold: lastEventId !== undefined,
    });
    if (!lastEventId || !client) return;
    try {
      let after = lastEventId;
      let replayed = 0;
      for (;;) {
        // The client may have gone (destroyed) or the stream ended (writableEnded) meanwhile, or its
        // session ended (a logout elsewhere): stop reading.
        if (raw.destroyed || raw.writableEnded || !(await this.hub.stillLive(client))) return;
        // The first page also looks back for ones pushed after the client's last (see since).
        const page = await this.notifications.since(
          caller.user_id,
          after,
          REPLAY_PAGE,
          after === lastEventId,
        );
        for (const n of page) {
          if (raw.destroyed || raw.writableEnded) return;
          raw.write(sseEvent('notification', n, n.id));
        }
        replayed += page.length;
        if (replayed === 0 && !(await this.notifications.exists(caller.user_id, lastEventId))) {
          // Not one of this user's (another's, or gone since: a restore): nothing to replay from.
          raw.write(sseEvent('resync', { reason: 'unknown_last_event_id', replayed }));
          break;
        }
        if (page.length < REPLAY_PAGE) break;
        after = page[page.length - 1].id;
        if (replayed >= STREAM_REPLAY_MAX) {
          // Only if more were missed: exactly STREAM_REPLAY_MAX is a complete replay.
          if ((await this.notifications.since(caller.user_id, after, 1)).length > 0) {
            raw.write(sseEvent('resync', { reason: 'too_many_missed', replayed }));
          }
          break;
        }
      }
      if (await this.hub.stillLive(client)) this.hub.release(client);
    } catch {
      // The response has started: no error body can follow. The client reconnects and asks again.
      raw.destroy();
    }
  }
}
