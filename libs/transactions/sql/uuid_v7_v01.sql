-- transactions.uuid_v7: a UUID of version 7 (RFC 9562) for rows the ledger writes in time order (its
-- outbox events), as the application makes them for journal entries (timeOrderedId, the `uuid` package):
-- the first 48 bits are the Unix time in milliseconds, so new ids land at the right-hand end of their
-- primary key's index instead of on a random leaf page. Built from gen_random_uuid()'s 16 random bytes:
-- the time replaces the first six, the version nibble (byte 6) becomes 7, and the variant bits (byte 8)
-- are already RFC 9562's.
CREATE FUNCTION transactions.uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE AS $$
  SELECT encode(substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                || set_byte(substring(r FROM 7), 0, (get_byte(r, 6) & 15) | 112), 'hex')::uuid
    FROM (SELECT uuid_send(gen_random_uuid()) AS r) g
$$;
