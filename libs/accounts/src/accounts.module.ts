import { Module } from '@nestjs/common';

/** The accounts module. Its routes, contract and events arrive with its own issue; the app hosting it already runs. */
@Module({})
export class AccountsModule {}
