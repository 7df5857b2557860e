import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CredentialEntity } from './credentials/credential.entity';
import { AdminBootstrapService } from './register/admin-bootstrap.service';
import { RegisterController } from './register/register.controller';
import { RegisterService } from './register/register.service';

@Module({
  imports: [TypeOrmModule.forFeature([CredentialEntity])],
  controllers: [RegisterController],
  providers: [RegisterService, AdminBootstrapService],
})
export class AuthModule {}
