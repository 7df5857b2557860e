import { applyDecorators } from '@nestjs/common';
import { ValidateBy } from 'class-validator';
import { mixesScripts } from './email';
import { IsPlainText, passedPlainText } from './plain-text';

/**
 * A person's name as stored: Unicode NFKC, trimmed. Styled and full-width letters are stored as the
 * letters they are drawn from ("𝐉ones" and "Ｊｏｎｅｓ" as "Jones"), as e-mail addresses and passwords are:
 * a name is searched for by staff and shown to payees, and a styled one is the same name drawn otherwise.
 */
export const normaliseName = (value: unknown): unknown =>
  typeof value === 'string' ? value.normalize('NFKC').trim() : value;

/**
 * A person's legal name (registration, profile, KYC): IsPlainText(1, `max`), stored as normaliseName
 * stores it, and each word (between spaces) written in one script, as the parts of an e-mail address are
 * (mixesScripts; Latin may mix with the scripts Japanese, Chinese and Korean are written in). "Ivаn" with
 * a Cyrillic "а" looks like "Ivan": other customers would read it in their payment notices, and a staff
 * search for "ivan" would not find it (helper-158). A name wholly in another script is a name.
 */
export const IsPersonName = (max: number) =>
  applyDecorators(
    IsPlainText(1, max, normaliseName),
    ValidateBy({
      name: 'isSingleScriptName',
      validator: {
        // Judged only on what IsPlainText passed: one error per field, the first thing wrong with it.
        validate: (value: unknown) =>
          typeof value !== 'string' ||
          !passedPlainText(value, max) ||
          !value.split(/\s+/u).some(mixesScripts),
        defaultMessage: () =>
          '$property must write each word in one script: mixed, as a Cyrillic "а" among Latin letters, it passes for another name',
      },
    }),
  );
