import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import { AUTH_API, type AuthApi, type VerificationKeys } from '@protobank/contracts';
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { isP256, publicJwk, type PublicJwk } from './key-files';

export interface RingKey {
  key: KeyObject;
  jwk: PublicJwk;
  /** Seconds since the epoch after which the key no longer verifies; null: no end known. */
  verifyUntil: number | null;
}

/** Where the ring learns the current key set: auth's own key directory, or auth through its contract. */
export type KeySource = () => Promise<VerificationKeys>;

/** At most four refreshes a second however many unknown key ids arrive (a forged kid costs no more). */
const MIN_REFRESH_GAP_MS = 250;
/** Our key ids are SHA-256 thumbprints in base64url: any other id is refused without asking auth. */
const KID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/**
 * The public keys this app verifies access tokens with, by key id. Every app starts with the keys it is
 * configured with (boot-keys.ts). The app hosting auth then feeds it from its key directory; every other
 * app asks auth (AUTH_API.verificationKeys) when a token names a key id it does not know and every
 * JWT_KEYS_REFRESH_SECONDS, so a rotation reaches it without a restart. Auth's answer replaces the set:
 * a key it no longer lists has retired past every token it signed. When auth cannot answer, the keys
 * known so far stay.
 */
export class KeyRing implements OnApplicationBootstrap, OnApplicationShutdown {
  private keys = new Map<string, RingKey>();
  private source: KeySource | undefined;
  private pending: Promise<void> | undefined;
  private lastRefreshAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(
    boot: RingKey[],
    private readonly refreshSeconds: number,
    private readonly logger: Logger,
    private readonly moduleRef?: ModuleRef,
  ) {
    for (const entry of boot) this.keys.set(entry.jwk.kid, entry);
  }

  /** The key of this id if it verifies now. */
  known(kid: string, nowSeconds = Math.floor(Date.now() / 1000)): KeyObject | undefined {
    const entry = this.keys.get(kid);
    return entry && (entry.verifyUntil === null || entry.verifyUntil > nowSeconds) ? entry.key : undefined;
  }

  /** The key of this id, asking the source (rate-limited) when the id is not known yet. */
  async keyFor(kid: string): Promise<KeyObject | undefined> {
    const found = this.known(kid);
    if (found || !this.source || !KID_SHAPE.test(kid)) return found;
    const askedAt = Date.now();
    await this.refresh();
    // A refresh that was already under way may have been answered before this key existed.
    if (!this.known(kid) && this.lastRefreshAt < askedAt) await this.refresh();
    return this.known(kid);
  }

  kids(): string[] {
    return [...this.keys.keys()].filter((kid) => this.known(kid));
  }

  useSource(source: KeySource): void {
    this.source = source;
  }

  /** Replaces the set with a complete one from auth. A key whose id is not its thumbprint is refused. */
  apply(set: VerificationKeys): void {
    const next = new Map<string, RingKey>();
    for (const k of set.keys) {
      try {
        const key = createPublicKey({ key: { kty: k.kty, crv: k.crv, x: k.x, y: k.y }, format: 'jwk' });
        const jwk = publicJwk(key);
        if (!isP256(key) || jwk.kid !== k.kid) throw new Error('kid is not the key thumbprint');
        next.set(jwk.kid, { key, jwk, verifyUntil: k.verify_until });
      } catch (err) {
        this.logger.error({ kid: k.kid, err: (err as Error).message }, 'refused a verification key');
      }
    }
    if (next.size === 0) throw new Error('the key set holds no usable key');
    const added = [...next.keys()].filter((kid) => !this.keys.has(kid));
    const removed = [...this.keys.keys()].filter((kid) => !next.has(kid));
    this.keys = next;
    if (added.length || removed.length) this.logger.info({ added, removed }, 'verification keys changed');
  }

  /** One refresh at a time, at most four a second; a failure keeps the keys known so far. */
  refresh(): Promise<void> {
    if (!this.source) return Promise.resolve();
    if (this.pending) return this.pending;
    const source = this.source;
    const wait = Math.max(0, this.lastRefreshAt + MIN_REFRESH_GAP_MS - Date.now());
    this.pending = (async () => {
      if (wait) await new Promise((r) => setTimeout(r, wait));
      this.lastRefreshAt = Date.now();
      try {
        this.apply(await source());
        if (this.failing) this.logger.info('verification keys reachable again');
        this.failing = false;
      } catch (err) {
        if (!this.failing)
          this.logger.warn({ err: (err as Error).message }, 'could not refresh verification keys');
        this.failing = true;
      }
    })().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Without a source of its own (set by the auth module), the app follows auth through its contract. */
  onApplicationBootstrap(): void {
    if (!this.source && this.moduleRef) {
      let api: AuthApi | undefined;
      try {
        api = this.moduleRef.get<AuthApi>(AUTH_API, { strict: false });
      } catch {
        api = undefined; // an app that does not call auth: its configured keys only
      }
      if (api) this.source = () => api.verificationKeys();
    }
    if (!this.source) return;
    this.timer = setInterval(() => void this.refresh(), this.refreshSeconds * 1000);
    this.timer.unref();
    void this.refresh();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }
}
