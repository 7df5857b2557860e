import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { LOGGER } from '@protobank/platform';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { DocumentCipher } from './document-cipher';

const BATCH = 200;

/** A stored document number: whose it is, and its ciphertext. */
export interface DocumentOnFile {
  user_id: string;
  document_number_encrypted: string;
}

/**
 * The lookup hashes of stored document numbers. Fills in those of submissions stored before hashes
 * existed: a migration cannot (it has no key), so the users module does it, in the background at
 * start-up and before any approval (whose duplicate check must see every document). Batches of BATCH
 * rows, each in a short transaction; instances starting together share the work (SKIP LOCKED), an
 * approval waits for rows being filled instead.
 *
 * A number that does not decrypt (another KYC_ENCRYPTION_KEY, a damaged row) is logged as an error once
 * per process, with its user id and never its ciphertext, and remembered: the fill before every approval
 * skips it from then on, and a review tries it again only if its ciphertext has changed. A restart (say,
 * with the right key) tries every such row once more.
 */
@Injectable()
export class DocumentHashes implements OnApplicationBootstrap {
  /** User id → fingerprint of the ciphertext that did not decrypt. */
  private readonly unreadable = new Map<string, string>();

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

  /** The lookup hash of a stored number; null when it does not decrypt (said once, see above). */
  hashOf(row: DocumentOnFile): Buffer | null {
    const fingerprint = createHash('sha256').update(row.document_number_encrypted).digest('base64url');
    if (this.unreadable.get(row.user_id) === fingerprint) return null;
    try {
      const hash = this.cipher.hashOnFile(row.document_number_encrypted, row.user_id);
      this.unreadable.delete(row.user_id);
      return hash;
    } catch (err) {
      this.unreadable.set(row.user_id, fingerprint);
      this.logger.error(
        { err, user_id: row.user_id },
        'KYC document number on file does not decrypt: it has no lookup hash, and its submission cannot be approved',
      );
      return null;
    }
  }

  /** Hashes every submission that has none, but those already found unreadable; returns how many. */
  async fillMissing({ wait }: { wait: boolean }): Promise<number> {
    let filled = 0;
    for (;;) {
      const seen = await this.dataSource.transaction(async (m) => {
        const rows = (await m.query(
          `SELECT user_id, document_number_encrypted FROM users.kyc
            WHERE document_number_hash IS NULL AND user_id <> ALL($1::uuid[])
            ORDER BY user_id LIMIT ${BATCH} FOR UPDATE ${wait ? '' : 'SKIP LOCKED'}`,
          [[...this.unreadable.keys()]],
        )) as DocumentOnFile[];
        const ids: string[] = [];
        const hashes: Buffer[] = [];
        for (const r of rows) {
          // An unreadable row is left without a hash (so never found as a duplicate), and remembered.
          const hash = this.hashOf(r);
          if (!hash) continue;
          hashes.push(hash);
          ids.push(r.user_id);
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
