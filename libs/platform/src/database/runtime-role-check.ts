import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { rows, RUNTIME_ROLE, type Queryable } from './runtime-login';

/**
 * True in a context that runs as the owner on purpose (the restore: it creates the tables); the apps'
 * PlatformModule.forRoot({ ownerLogin }) sets it, false by default.
 */
export const OWNER_LOGIN = Symbol('OWNER_LOGIN');

/**
 * In production an app refuses to start when its database login could change the schema: a superuser,
 * or a member of the role owning the ledger's schema. Such a login lets one injected statement disable
 * the ledger's append-only triggers or rewrite the audit trail; the apps run as DATABASE_RUNTIME_USER
 * (rows only), which migrate creates. Development and tests may use any login.
 */
@Injectable()
export class RuntimeRoleCheck implements OnModuleInit {
  constructor(
    private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(OWNER_LOGIN) private readonly ownerLogin: boolean,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.config.nodeEnv !== 'production' || this.ownerLogin) return;
    const problem = await runtimeRoleProblem(this.dataSource);
    if (problem) throw new Error(problem);
  }
}

interface LoginFacts {
  login: string;
  superuser: boolean;
  owner: boolean;
  runtime: boolean;
}

/** Why the login `db` connects as is not fit for a running app, or undefined when it is. */
export async function runtimeRoleProblem(db: Queryable): Promise<string | undefined> {
  const [row] = await rows<LoginFacts>(
    db,
    `
    SELECT current_user AS login, r.rolsuper AS superuser,
           pg_has_role(current_user, n.nspowner, 'MEMBER') AS owner,
           pg_has_role(current_user, '${RUNTIME_ROLE}', 'MEMBER') AS runtime
      FROM pg_roles r, pg_namespace n
     WHERE r.rolname = current_user AND n.nspname = 'transactions'`,
  );
  if (!row) return 'the ledger schema (transactions) is missing: run the migrations first';
  const fix = `connect as DATABASE_RUNTIME_USER, the login migrate creates in ${RUNTIME_ROLE} (docs/security.md, "The database login")`;
  if (row.superuser) return `the database login "${row.login}" is a superuser: ${fix}`;
  if (row.owner) return `the database login "${row.login}" owns the schema: ${fix}`;
  if (!row.runtime) return `the database login "${row.login}" is not a member of ${RUNTIME_ROLE}: ${fix}`;
  return undefined;
}
