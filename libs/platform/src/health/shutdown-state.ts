import { Injectable } from '@nestjs/common';

/**
 * Whether the app has been told to stop (SIGTERM). From then on readiness answers 503, so that a load
 * balancer polling it sends no new requests, while for SHUTDOWN_DELAY_MS the app still serves those
 * it gets (runApp). Terminus's own flag (gracefulShutdownTimeoutMs) is set only at
 * beforeApplicationShutdown, after the listener has closed: too late to tell anyone.
 */
@Injectable()
export class ShutdownState {
  private signalled = false;

  begin(): void {
    this.signalled = true;
  }

  get now(): boolean {
    return this.signalled;
  }
}
