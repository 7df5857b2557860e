import type { MessageProperties } from 'amqplib';
import { acceptRequestId, CALLER_HEADER, REQUEST_ID_HEADER, type Caller } from '../context/request-context';

/** The request id and the caller, as AMQP message headers (for contract calls and events alike). */
export function toAmqpHeaders(
  requestId: string | undefined,
  caller: Caller | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (requestId) headers[REQUEST_ID_HEADER] = requestId;
  if (caller) headers[CALLER_HEADER] = JSON.stringify(caller);
  return headers;
}

/** Reads them back; a malformed header is ignored rather than trusted. */
export function fromAmqpHeaders(properties: MessageProperties): { requestId?: string; caller?: Caller } {
  const headers = (properties.headers ?? {}) as Record<string, unknown>;
  let caller: Caller | undefined;
  const raw = headers[CALLER_HEADER];
  if (typeof raw === 'string') {
    try {
      const parsed = JSON.parse(raw) as Partial<Caller>;
      if (typeof parsed.user_id === 'string' && typeof parsed.role === 'string') caller = parsed as Caller;
    } catch {
      caller = undefined;
    }
  }
  return { requestId: acceptRequestId(headers[REQUEST_ID_HEADER]), caller };
}
