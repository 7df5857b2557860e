import { v7 } from 'uuid';

/**
 * A new id for rows written in time order at a high rate (journal entries, outbox events, notifications
 * and their deliveries): a UUID of version 7 (RFC 9562, from the `uuid` package), whose first 48 bits
 * are the time in milliseconds. Such ids arrive at the right-hand end of their primary key's index, as a
 * sequence would; random (version 4) ids touch a random leaf page per insert, which at a million entries
 * means pages that no longer fit in shared buffers and, after every checkpoint, a full-page image in the
 * WAL for each one touched. The other 74 bits are random, so an id still cannot be guessed; it does tell
 * when it was made, which its row says anyway. Ids that must not tell (accounts, cards, users) stay random.
 */
export const timeOrderedId = (): string => v7();
