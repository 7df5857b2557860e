/**
 * Every configuration variable Protobank reads: the platform's (CONFIG_SCHEMA) and each domain module's
 * own (libs/<module>/src/<module>.config.ts), as the monolith, which hosts every module, checks them at
 * boot. For specs that look at all of them at once: README's table, the committed secrets.
 */
import { ConfigError, ConfigSource, CONFIG_SCHEMA, loadConfig, type ConfigSchema } from '@protobank/platform';
import { AccountsConfig } from '../../libs/accounts/src/accounts.config';
import { AuthConfig } from '../../libs/auth/src/auth.config';
import { CardsConfig } from '../../libs/cards/src/cards.config';
import { NotificationsConfig } from '../../libs/notifications/src/notifications.config';
import { PaymentsConfig } from '../../libs/payments/src/payments.config';
import { TransactionsConfig } from '../../libs/transactions/src/transactions.config';
import { UsersConfig } from '../../libs/users/src/users.config';

export const MODULE_SECTIONS = [
  AuthConfig,
  UsersConfig,
  AccountsConfig,
  TransactionsConfig,
  CardsConfig,
  PaymentsConfig,
  NotificationsConfig,
] as const;

/** Every variable, the platform's first, then each module's. */
export const ALL_VARIABLES: ConfigSchema = Object.assign(
  {},
  CONFIG_SCHEMA,
  ...MODULE_SECTIONS.map((section) => section.variables),
);

/** What the monolith's boot would refuse in `env`: the platform's problems, then each module's. */
export function configProblems(env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  try {
    loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  return [...problems, ...new ConfigSource(env).problems(MODULE_SECTIONS)];
}
