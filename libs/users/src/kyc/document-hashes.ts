import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { LOGGER } from '@protobank/platform';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { DocumentCipher } from './document-cipher';
import { normaliseDocumentNumber } from './document-number';

const BATCH = 200;

/**
 * Fills in the lookup hash of submissions stored before it existed. A migration cannot (it has no key),
 * so the users module does it: in the background at start-up, and before any approval (whose duplicate
 * check must see every document). Batches of BATCH rows, each in a short transaction; instances
 * starting together share the work (SKIP LOCKED), an approval waits for rows being filled instead.
 */
@Injectable()
export class DocumentHashes implements OnApplicationBootstrap {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cipher: DocumentCipher,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    void this.fillMissing({ wait: false })
      .then((n) => n > 0 && this.logger.info({ filled: n }, 'KYC document lookup hashes filled in'))
      .catch((err: unknown) => this.logger.warn({ err }, 'KYC document lookup hashes not filled in'));
  }

  /** Hashes every submission that has none; returns how many. */
  async fillMissing({ wait }: { wait: boolean }): Promise<number> {
    let filled = 0;
    const unreadable: string[] = [];
    for (;;) {
      const seen = await this.dataSource.transaction(async (m) => {
        const rows = (await m.query(
          `SELECT user_id, document_number_encrypted FROM users.kyc
            WHERE document_number_hash IS NULL AND user_id <> ALL($1::uuid[])
            ORDER BY user_id LIMIT ${BATCH} FOR UPDATE ${wait ? '' : 'SKIP LOCKED'}`,
          [unreadable],
        )) as { user_id: string; document_number_encrypted: string }[];
        const ids: string[] = [];
        const hashes: Buffer[] = [];
        for (const r of rows) {
          try {
            const number = normaliseDocumentNumber(
              this.cipher.decrypt(r.document_number_encrypted, r.user_id),
            );
            hashes.push(this.cipher.lookupHash(number));
            ids.push(r.user_id);
          } catch (err) {
            // Another key, or a damaged row: left without a hash (so never found as a duplicate), and said.
            unreadable.push(r.user_id);
            this.logger.error(
              { err, user_id: r.user_id },
              'KYC document number does not decrypt: not hashed',
            );
          }
        }
        if (ids.length) {
          await m.query(
            `UPDATE users.kyc k SET document_number_hash = v.hash
               FROM unnest($1::uuid[], $2::bytea[]) AS v(user_id, hash) WHERE k.user_id = v.user_id`,
            [ids, hashes],
          );
        }
        filled += ids.length;
        return rows.length;
      });
      if (seen < BATCH) return filled;
    }
  }
}
