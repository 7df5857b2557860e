import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { configuredLimit, ErrorResponseDto, Public, RateLimit } from '@protobank/platform';
import { UserDto } from '@protobank/contracts';
import { RegisterDto } from './register.dto';
import { RegisterService } from './register.service';
import { AuthConfig } from '../auth.config';

@ApiTags('auth')
@Controller('auth')
export class RegisterController {
  constructor(private readonly registration: RegisterService) {}

  @Post('register')
  @Public()
  @RateLimit({
    bucket: 'register-ip',
    limit: configuredLimit(AuthConfig, (c) => c.registerRateLimitPerMinute),
    windowSeconds: 60,
    by: 'ip',
  })
  @HttpCode(201)
  @ApiOperation({ summary: 'Register a customer' })
  @ApiCreatedResponse({ type: UserDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description:
      'validation_failed: a field is missing or invalid, details name it; weak_password naming password ' +
      '(under 12 characters once normalised (NFKC), under 5 different ones, containing the e-mail, or a ' +
      'common password)',
  })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'email_taken' })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description:
      'auth_busy: too many password hashes were under way (one at a time per instance), see Retry-After',
  })
  async register(@Body() body: RegisterDto): Promise<UserDto> {
    const { id, email, full_name, role, created_at } = await this.registration.register(body);
    return { id, email, full_name, role, created_at };
  }
}
