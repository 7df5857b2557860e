/**
 * Why staff reject an identity check, by code, and what the customer is told for each: the notice and
 * the customer's view of the submission carry the bank's wording, never the reviewer's own text. A
 * reviewer's free text in the bank's own notice let one insider send any customer with a pending check a
 * message from the bank, links and phone numbers included (helper-158). The reviewer's note is kept in
 * the audit trail. None says the document was thought forged: a customer suspected of fraud is not told so.
 */
export const KYC_REJECTION_REASONS = {
  document_unreadable: 'the photo of your document could not be read',
  document_expired: 'your document has expired',
  document_not_accepted: 'we do not accept that type of document',
  details_mismatch: 'the details you gave do not match your document',
  not_verified: 'we could not confirm your document',
} as const;

export type KycRejectionCode = keyof typeof KYC_REJECTION_REASONS;

export const KYC_REJECTION_CODES = Object.keys(KYC_REJECTION_REASONS) as KycRejectionCode[];
