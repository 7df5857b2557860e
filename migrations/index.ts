/**
 * Every migration, oldest first. `npm run migration:generate -- Name` appends new ones here.
 * A static list (not a glob) so the same array works from ts-jest, from dist/ and in the container.
 */
import { Foundation1763700000000 } from './1763700000000-Foundation';
import { IdentitySlice1763700000001 } from './1763700000001-IdentitySlice';
import { UsersAdministration1763700000002 } from './1763700000002-UsersAdministration';
import { ProfilesAndKyc1763700000003 } from './1763700000003-ProfilesAndKyc';
import { MillisecondTimestamps1763700000004 } from './1763700000004-MillisecondTimestamps';
import { CredentialRole1763700000005 } from './1763700000005-CredentialRole';
import { AccountsAndLedger1763700000006 } from './1763700000006-AccountsAndLedger';
import { NotificationsDelivery1763700000007 } from './1763700000007-NotificationsDelivery';
import { Analytics1763700000008 } from './1763700000008-Analytics';
import { LedgerEntriesIndex1763700000009 } from './1763700000009-LedgerEntriesIndex';
import { StaffControlsAndDocumentHashes1763700000010 } from './1763700000010-StaffControlsAndDocumentHashes';
import { VerifiedIdentity1763700000011 } from './1763700000011-VerifiedIdentity';
import { VerifiedDocumentOnFile1763700000012 } from './1763700000012-VerifiedDocumentOnFile';
import { LedgerPayments1763700000013 } from './1763700000013-LedgerPayments';
import { Payments1763700000014 } from './1763700000014-Payments';
import { PaymentNotifications1763700000015 } from './1763700000015-PaymentNotifications';
import { CardHolds1763700000016 } from './1763700000016-CardHolds';
import { Cards1763700000017 } from './1763700000017-Cards';
import { CardNetworkMessages1763700000018 } from './1763700000018-CardNetworkMessages';
import { CardClearingOnce1763700000019 } from './1763700000019-CardClearingOnce';
import { BatchedPosting1763700000020 } from './1763700000020-BatchedPosting';
import { LedgerVerifyCheckpoints1763700000021 } from './1763700000021-LedgerVerifyCheckpoints';
import { LeanerPostEntries1763700000022 } from './1763700000022-LeanerPostEntries';
import { OutboxClaimInOrder1763700000023 } from './1763700000023-OutboxClaimInOrder';
import { OutboxClaimOnOnePage1763700000024 } from './1763700000024-OutboxClaimOnOnePage';
import { AnalyticsBankDays1763700000025 } from './1763700000025-AnalyticsBankDays';
import { CardLimitsCountLateClearings1763700000026 } from './1763700000026-CardLimitsCountLateClearings';
import { PendingAuthorisations1763700000027 } from './1763700000027-PendingAuthorisations';
import { ReversalsOncePerNetworkId1763700000028 } from './1763700000028-ReversalsOncePerNetworkId';
import { LateClearingHolds1763700000029 } from './1763700000029-LateClearingHolds';
import { BackupRecords1763700000030 } from './1763700000030-BackupRecords';
import { RuntimeRole1763700000031 } from './1763700000031-RuntimeRole';
import { CardLimitsCountWhatIsTaken1763700000032 } from './1763700000032-CardLimitsCountWhatIsTaken';
import { SupersededDocuments1763700000033 } from './1763700000033-SupersededDocuments';
import { PaymentClaims1763700000034 } from './1763700000034-PaymentClaims';
import { CardsCancelledWithAccount1763700000035 } from './1763700000035-CardsCancelledWithAccount';
import { ReversedCardPaymentsFreeTheLimits1763700000036 } from './1763700000036-ReversedCardPaymentsFreeTheLimits';
import { PasswordChanges1763700000037 } from './1763700000037-PasswordChanges';
import { VerifiedPhones1763700000038 } from './1763700000038-VerifiedPhones';
import { FirstSignIn1763700000039 } from './1763700000039-FirstSignIn';
import { PasswordResetHold1763700000040 } from './1763700000040-PasswordResetHold';
import { VerifiedEmails1763700000041 } from './1763700000041-VerifiedEmails';
import { VerifiedEmailsForNotices1763700000042 } from './1763700000042-VerifiedEmailsForNotices';
import { CardCallsInBatches1763700000043 } from './1763700000043-CardCallsInBatches';
import { RefundsOfTheirPayment1763700000044 } from './1763700000044-RefundsOfTheirPayment';
import { ReversedPayments1763700000045 } from './1763700000045-ReversedPayments';
import { ReversedCardPayments1763700000046 } from './1763700000046-ReversedCardPayments';
import { AuditActionsApartFromReads1763700000047 } from './1763700000047-AuditActionsApartFromReads';
import { ReversedMovements1763700000048 } from './1763700000048-ReversedMovements';
import { EmailDomainsAsTheyRead1763700000049 } from './1763700000049-EmailDomainsAsTheyRead';
import { ReversalsBeforeTheirAuthorisation1763700000050 } from './1763700000050-ReversalsBeforeTheirAuthorisation';
import { LateHoldChecks1763700000051 } from './1763700000051-LateHoldChecks';
import { ReversalsInFlight1763700000052 } from './1763700000052-ReversalsInFlight';
import { KycRejectionCodes1763700000053 } from './1763700000053-KycRejectionCodes';
import { NamesSearchedAsTyped1763700000054 } from './1763700000054-NamesSearchedAsTyped';
import { StaffSearchIndexes1763700000055 } from './1763700000055-StaffSearchIndexes';
import { LatinNames1763700000056 } from './1763700000056-LatinNames';
import { LatinNameSearch1763700000057 } from './1763700000057-LatinNameSearch';

export const MIGRATIONS = [
  Foundation1763700000000,
  IdentitySlice1763700000001,
  UsersAdministration1763700000002,
  ProfilesAndKyc1763700000003,
  MillisecondTimestamps1763700000004,
  CredentialRole1763700000005,
  AccountsAndLedger1763700000006,
  NotificationsDelivery1763700000007,
  Analytics1763700000008,
  LedgerEntriesIndex1763700000009,
  StaffControlsAndDocumentHashes1763700000010,
  VerifiedIdentity1763700000011,
  VerifiedDocumentOnFile1763700000012,
  LedgerPayments1763700000013,
  Payments1763700000014,
  PaymentNotifications1763700000015,
  CardHolds1763700000016,
  Cards1763700000017,
  CardNetworkMessages1763700000018,
  CardClearingOnce1763700000019,
  BatchedPosting1763700000020,
  LedgerVerifyCheckpoints1763700000021,
  LeanerPostEntries1763700000022,
  OutboxClaimInOrder1763700000023,
  OutboxClaimOnOnePage1763700000024,
  AnalyticsBankDays1763700000025,
  CardLimitsCountLateClearings1763700000026,
  PendingAuthorisations1763700000027,
  ReversalsOncePerNetworkId1763700000028,
  LateClearingHolds1763700000029,
  BackupRecords1763700000030,
  RuntimeRole1763700000031,
  CardLimitsCountWhatIsTaken1763700000032,
  SupersededDocuments1763700000033,
  PaymentClaims1763700000034,
  CardsCancelledWithAccount1763700000035,
  ReversedCardPaymentsFreeTheLimits1763700000036,
  PasswordChanges1763700000037,
  VerifiedPhones1763700000038,
  FirstSignIn1763700000039,
  PasswordResetHold1763700000040,
  VerifiedEmails1763700000041,
  VerifiedEmailsForNotices1763700000042,
  CardCallsInBatches1763700000043,
  RefundsOfTheirPayment1763700000044,
  ReversedPayments1763700000045,
  ReversedCardPayments1763700000046,
  AuditActionsApartFromReads1763700000047,
  ReversedMovements1763700000048,
  EmailDomainsAsTheyRead1763700000049,
  ReversalsBeforeTheirAuthorisation1763700000050,
  LateHoldChecks1763700000051,
  ReversalsInFlight1763700000052,
  KycRejectionCodes1763700000053,
  NamesSearchedAsTyped1763700000054,
  StaffSearchIndexes1763700000055,
  LatinNames1763700000056,
  LatinNameSearch1763700000057,
];
