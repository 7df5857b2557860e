/** A Server-Sent Events client for tests: connects, parses events as they arrive, and records when. */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { eventually } from './test-env';

export interface StreamEvent {
  id?: string;
  event: string;
  data: Record<string, unknown>;
  at: number;
}

export interface EventStream {
  status: number;
  headers: IncomingMessage['headers'];
  events: StreamEvent[];
  /** The body as received, for non-200 answers. */
  text(): string;
  ended: boolean;
  next(predicate: (e: StreamEvent) => boolean, timeoutMs?: number): Promise<StreamEvent>;
  close(): void;
}

export function openStream(url: string, headers: Record<string, string> = {}): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const events: StreamEvent[] = [];
    let buffer = '';
    let raw = '';
    const req: ClientRequest = request(
      url,
      { headers: { accept: 'text/event-stream', ...headers } },
      (res) => {
        const stream: EventStream = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          events,
          text: () => raw,
          ended: false,
          next: (predicate, timeoutMs = 10000) =>
            eventually(async () => events.find(predicate), timeoutMs, 'a stream event'),
          close: () => req.destroy(),
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          raw += chunk;
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const fields: Record<string, string> = {};
            for (const line of block.split('\n')) {
              if (line.startsWith(':') || !line.includes(':')) continue;
              const colon = line.indexOf(':');
              fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
            }
            if (fields.data !== undefined) {
              events.push({
                id: fields.id,
                event: fields.event ?? 'message',
                data: JSON.parse(fields.data) as Record<string, unknown>,
                at: Date.now(),
              });
            }
          }
        });
        res.on('end', () => (stream.ended = true));
        res.on('error', () => (stream.ended = true));
        resolve(stream);
      },
    );
    req.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
    });
    req.end();
  });
}
