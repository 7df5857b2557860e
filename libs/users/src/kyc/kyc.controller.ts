import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { AppError, CurrentCaller, ErrorResponseDto, Roles, type Caller } from '@protobank/platform';
import {
  AdminKycDto,
  ApproveKycDto,
  KycDto,
  KycPageDto,
  KycUserParams,
  ListKycQuery,
  RejectKycDto,
  SubmitKycDto,
} from './kyc.dto';
import { KycService } from './kyc.service';

@ApiTags('kyc')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller()
export class KycController {
  constructor(private readonly kyc: KycService) {}

  @Post('users/me/kyc')
  @HttpCode(201)
  @ApiOperation({
    summary:
      'Submit an identity document for KYC: again after a rejection, or, once verified, to change the legal name or date of birth',
    description:
      "The submission carries the legal name (full_name, default the profile's), optionally its Latin spelling (latin_name), and date of birth to verify. Approval makes them the profile's. A verified customer who submits again stays verified under the details approved before until staff approve the new ones; a rejected change leaves them as they were.",
  })
  @ApiCreatedResponse({ type: KycDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description:
      'recently_reset: a verified customer changes their verified details PASSWORD_RESET_HOLD_HOURS after a password reset by e-mail at the earliest',
  })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description:
      'kyc_pending, or kyc_already_verified (a verified customer submits again only with a different full_name, latin_name or date_of_birth), ' +
      'or document_unreadable (the document that verified the customer cannot be read: support must step in)',
  })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'underage' })
  submit(@CurrentCaller() caller: Caller, @Body() body: SubmitKycDto): Promise<KycDto> {
    return this.kyc.submit(caller, body);
  }

  @Get('users/me/kyc')
  @ApiOperation({ summary: "The caller's KYC status and submission (document number masked)" })
  @ApiOkResponse({ type: KycDto })
  mine(@CurrentCaller() caller: Caller): Promise<KycDto> {
    return this.kyc.get(caller.user_id);
  }

  @Get('admin/kyc')
  @Roles('staff', 'admin')
  @ApiOperation({
    summary:
      "KYC submissions by status (pending by default), oldest first; never the caller's own, nor, for staff, a colleague's",
  })
  @ApiOkResponse({ type: KycPageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto })
  list(@CurrentCaller() caller: Caller, @Query() query: ListKycQuery): Promise<KycPageDto> {
    return this.kyc.list(caller, query);
  }

  @Get('admin/kyc/:user_id')
  @Roles('staff', 'admin')
  @ApiOperation({ summary: "One user's KYC submission, with any other users holding the same document" })
  @ApiOkResponse({ type: AdminKycDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description:
      "own_kyc: the caller's own submission; colleague_account: a staff member's or an admin's, for staff",
  })
  detail(@CurrentCaller() caller: Caller, @Param() params: KycUserParams): Promise<AdminKycDto> {
    return this.kyc.adminGet(caller, params.user_id);
  }

  @Post('admin/kyc/:user_id/approve')
  @HttpCode(200)
  @Roles('staff', 'admin')
  @ApiOperation({
    summary:
      "Approve a pending submission: the user becomes verified, and its legal name and date of birth become the profile's",
    description:
      'A document on file for another user (duplicate_document in the list) is refused with 409 ' +
      'duplicate_document, unless an admin sends override_duplicate with override_reason (audited). The body ' +
      'names the submission decided on (submitted_at, as the detail showed it: 400 without it, 409 kyc_changed ' +
      'when the customer has submitted again since).',
  })
  @ApiOkResponse({ type: AdminKycDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description:
      'kyc_not_pending; kyc_changed (the pending submission is not the one submitted_at names: the customer submitted again, open it again); duplicate_document; or document_unreadable (the number on file does not decrypt: reject the submission so the customer submits again)',
  })
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description:
      'own_kyc (the caller’s own submission, or a document on file for the caller); colleague_account (a staff member’s or an admin’s, for staff); an override by staff',
  })
  approve(
    @CurrentCaller() caller: Caller,
    @Param() params: KycUserParams,
    @Body() body: ApproveKycDto,
  ): Promise<AdminKycDto> {
    if (body?.override_reason !== undefined && body.override_duplicate !== true) {
      throw AppError.badRequest('validation_failed', 'Invalid request: override_duplicate', [
        { field: 'override_duplicate', message: 'override_reason goes with override_duplicate: true' },
      ]);
    }
    const override = body?.override_duplicate ? { reason: body.override_reason! } : undefined;
    return this.kyc.review(caller, params.user_id, body.submitted_at, { approve: true, override });
  }

  @Post('admin/kyc/:user_id/reject')
  @HttpCode(200)
  @Roles('staff', 'admin')
  @ApiOperation({ summary: 'Reject a pending submission with a reason; the user may submit again' })
  @ApiOkResponse({ type: AdminKycDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'kyc_not_pending; kyc_changed (the pending submission is not the one submitted_at names)',
  })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description: 'own_kyc; colleague_account (a staff member’s or an admin’s submission, for staff)',
  })
  reject(
    @CurrentCaller() caller: Caller,
    @Param() params: KycUserParams,
    @Body() body: RejectKycDto,
  ): Promise<AdminKycDto> {
    return this.kyc.review(caller, params.user_id, body.submitted_at, {
      approve: false,
      reason_code: body.reason_code,
      note: body.reason,
    });
  }
}
