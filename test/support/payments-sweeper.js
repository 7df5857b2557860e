/**
 * A payments worker that dies for real, for test/payments-schedule.e2e-spec.ts: boots the ledger and
 * payments modules from dist/ (as the apps run) against the suite's database, its clock stopped at
 * PAYMENTS_CLOCK_AT, runs one due sweep and SIGKILLs itself right after the ledger has posted its
 * KILL_AFTER_POSTINGS-th new payment, before the sweep can record it. Every answer of the ledger is
 * appended to PAY_LOG (JSON lines) first, so the test knows what was posted and by whom.
 *
 * Plain JavaScript: a child process cannot load the suite's TypeScript. It builds the same application as
 * the suite's in-process contexts (test/support/contexts.ts with overrides): no BullMQ scheduler (the
 * test is the scheduler), no users module (accounts are set up without it).
 */
require('reflect-metadata');
const fs = require('node:fs');
const path = require('node:path');
const { Global, Module } = require('@nestjs/common');
const { FastifyAdapter } = require('@nestjs/platform-fastify');
const { Test } = require('@nestjs/testing');

const dist = (file) => require(path.join(__dirname, '../../dist/libs', file));
const { TRANSACTIONS_API, USERS_API } = dist('contracts/src/index.js');
const { connectTransport, createLogger, loadConfig, PlatformModule } = dist('platform/src/index.js');
const { AccountsModule } = dist('accounts/src/index.js');
const { TransactionsModule } = dist('transactions/src/index.js');
const { TransactionsApiService } = dist('transactions/src/transactions.api.js');
const { PaymentsModule } = dist('payments/src/index.js');
const { PAYMENTS_CLOCK } = dist('payments/src/run/clock.js');
const { DueSweep } = dist('payments/src/run/due-sweep.js');
const { SweepProcessor } = dist('payments/src/run/sweep.processor.js');

class NoUsersModule {}
Module({ providers: [{ provide: USERS_API, useValue: {} }], exports: [USERS_API] })(NoUsersModule);
Global()(NoUsersModule);

const at = new Date(process.env.PAYMENTS_CLOCK_AT);
const killAfter = Number(process.env.KILL_AFTER_POSTINGS);
const payLog = process.env.PAY_LOG;
if (Number.isNaN(at.getTime()) || !(killAfter >= 1) || !payLog) {
  process.stderr.write('PAYMENTS_CLOCK_AT, KILL_AFTER_POSTINGS and PAY_LOG are required\n');
  process.exit(2);
}

/** The ledger as the sweep sees it: the real one, and death right after the chosen posting. */
function dyingLedger(ledger) {
  let posted = 0;
  const pay = async (payment) => {
    const result = await ledger.pay(payment);
    const kill = result.outcome === 'posted' && !result.replayed && ++posted >= killAfter;
    const line = { key: payment.key, ...result, kill };
    fs.appendFileSync(payLog, `${JSON.stringify(line)}\n`);
    if (kill) process.kill(process.pid, 'SIGKILL');
    return result;
  };
  return new Proxy(ledger, {
    get(target, prop) {
      if (prop === 'pay') return pay;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function main() {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'fatal' });
  const logger = createLogger(config, 'payments');
  const builder = Test.createTestingModule({
    imports: [
      PlatformModule.forRoot({ service: 'payments', config, logger, transport: 'local' }),
      NoUsersModule,
      AccountsModule,
      TransactionsModule,
      PaymentsModule,
    ],
  });
  builder.overrideProvider(PAYMENTS_CLOCK).useValue({ now: () => new Date(at) });
  builder.overrideProvider(SweepProcessor).useValue({ kick: async () => undefined });
  builder
    .overrideProvider(TRANSACTIONS_API)
    .useFactory({ factory: dyingLedger, inject: [TransactionsApiService] });
  const app = (await builder.compile()).createNestApplication(new FastifyAdapter(), { logger: false });
  connectTransport(app);
  await app.init();
  await app.startAllMicroservices();
  const counts = await app.get(DueSweep).run();
  // Reached only when fewer payments were posted than KILL_AFTER_POSTINGS: the test then fails.
  process.stdout.write(`${JSON.stringify({ survived: counts })}\n`);
  await app.close();
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
