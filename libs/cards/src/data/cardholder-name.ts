/** What a card can carry embossed: Latin letters, spaces, apostrophes, dots and hyphens, 26 at most. */
export const CARDHOLDER_NAME = /^[A-Z][A-Z .'-]{0,25}$/;

/** The name a card carries when its holder's name has no Latin letters to emboss. */
export const NO_NAME = 'CARDHOLDER';

const MAX = 26;

/**
 * Latin spellings of the upper-case letters that taking accents off (NFD) leaves outside A–Z, the first
 * being the one embossed. Latin letters of their own (Ł, Ø, Æ, Þ…) and the German and Nordic letters whose
 * passports may spell them either way (Ä as A or AE: ICAO Doc 9303, part 3), then Cyrillic and Greek by
 * Doc 9303's table with the spellings older and national passports use (Ю as IU, YU or JU; Х as KH, H or X).
 * Other scripts have no spelling here: their words are not embossed.
 */
// prettier-ignore
const SPELLINGS: Record<string, string[]> = {
  Ä: ['A', 'AE'], Ö: ['O', 'OE'], Ü: ['U', 'UE'], Å: ['A', 'AA'], Ø: ['O', 'OE'], Æ: ['AE'], Œ: ['OE'],
  Ł: ['L'], Đ: ['D', 'DJ'], Ð: ['D'], Þ: ['TH'], Ħ: ['H'], Ŀ: ['L'], Ŋ: ['N', 'NG'], Ŧ: ['T'], Ə: ['E', 'A'],
  ẞ: ['SS'],
  // Cyrillic
  А: ['A'], Б: ['B'], В: ['V', 'W'], Г: ['G', 'H'], Ґ: ['G'], Д: ['D'], Ѓ: ['G', 'GJ'], Ђ: ['D', 'DJ'],
  Е: ['E', 'YE', 'JE'], Ё: ['E', 'YO', 'JO'], Є: ['IE', 'YE', 'JE'], Ж: ['ZH', 'J', 'Z'], З: ['Z'],
  Ѕ: ['DZ'], И: ['I', 'Y'], І: ['I'], Ї: ['I', 'YI', 'JI'], Й: ['I', 'Y', 'J'], Ј: ['J'], К: ['K'], Л: ['L'],
  Љ: ['LJ'], М: ['M'], Н: ['N'], Њ: ['NJ'], О: ['O'], П: ['P'], Р: ['R'], С: ['S'], Т: ['T'], Ќ: ['K', 'KJ'],
  Ћ: ['C', 'CH'], У: ['U'], Ў: ['U'], Ф: ['F'], Х: ['KH', 'H', 'X'], Ц: ['TS', 'C', 'TZ'], Ч: ['CH'],
  Џ: ['DZ', 'DZH'], Ш: ['SH'], Щ: ['SHCH', 'SCH', 'SHT'], Ъ: ['IE', 'A', ''], Ы: ['Y', 'I'], Ь: ['', "'"],
  Э: ['E'], Ю: ['IU', 'YU', 'JU'], Я: ['IA', 'YA', 'JA'],
  // Greek
  Α: ['A'], Β: ['V', 'B'], Γ: ['G', 'GH', 'Y'], Δ: ['D', 'DH'], Ε: ['E'], Ζ: ['Z'], Η: ['I', 'E'],
  Θ: ['TH'], Ι: ['I'], Κ: ['K'], Λ: ['L'], Μ: ['M'], Ν: ['N'], Ξ: ['X', 'KS'], Ο: ['O'], Π: ['P'],
  Ρ: ['R'], Σ: ['S'], Τ: ['T'], Υ: ['Y', 'I', 'U'], Φ: ['F'], Χ: ['CH', 'KH', 'H'], Ψ: ['PS'], Ω: ['O'],
};

/** Punctuation a name may hold (IsPersonName), as a card can carry it: ' and . may be left out. */
const PUNCTUATION: Record<string, string[]> = {
  "'": ["'", ''],
  '’': ["'", ''],
  '‘': ["'", ''],
  '-': ['-'],
  '‐': ['-'],
  '‑': ['-'],
  '–': ['-'],
  '.': ['.', ''],
};
/** Marks of other scripts a name may hold, which a Latin spelling leaves out (as it does accents). */
const SILENT = /^[,·・゛゜׳״\u200c\u200d]$/u;

/** One word of a holder's name as a card can spell it: each character's spellings, the first embossed. */
interface Word {
  chars: string[][];
  /** The whole word, as a pattern of its spellings. */
  whole: RegExp;
  /** The letters it may be shortened to (its first letter's spellings). */
  initials: Set<string>;
}

const escape = (s: string) => s.replace(/[.'-]/g, (c) => `\\${c}`);

/** A character's Latin spellings (upper case), or undefined when it has none. */
function spellingsOf(ch: string): string[] | undefined {
  if (PUNCTUATION[ch]) return PUNCTUATION[ch];
  if (SILENT.test(ch) || /^\p{M}$/u.test(ch)) return [''];
  if (SPELLINGS[ch]) return SPELLINGS[ch];
  const plain = ch.normalize('NFD').replace(/\p{M}/gu, '');
  if (/^[A-Z]+$/.test(plain)) return [plain];
  if (plain !== ch && plain.length === 1) return spellingsOf(plain);
  return undefined;
}

/**
 * Greek Υ after a vowel it forms a sound with: ΟΥ is OU, ΑΥ and ΕΥ are AV or AF (ICAO Doc 9303, with the
 * letter-by-letter Y also taken). Υ with a dialytika (Ϋ) is a vowel of its own, spelt as Υ alone.
 */
function greekDigraph(before: string, ch: string): string[] | undefined {
  const base = (c: string) => c.normalize('NFD').replace(/\p{M}/gu, '');
  if (base(ch) !== 'Υ' || ch.normalize('NFD').includes('\u0308')) return undefined;
  if (base(before) === 'Ο') return ['U', 'Y'];
  if (base(before) === 'Α' || base(before) === 'Ε' || base(before) === 'Η') return ['V', 'F', 'Y', 'U'];
  return undefined;
}

/**
 * The words of a holder's name that a card can carry, in order, each with its Latin spellings. A word
 * with a letter that has none (Han, Arabic…) is left out; punctuation at a word's ends is dropped.
 */
function wordsOf(fullName: string): Word[] {
  const words: Word[] = [];
  for (const raw of fullName
    .normalize('NFC')
    .toUpperCase()
    .split(/(?:\s|(?![\u200c\u200d])\p{Cf})+/u)) {
    if (raw.replace(/[\u200c\u200d]/g, '') === '') continue;
    const chars: string[][] = [];
    let spellable = true;
    let before = '';
    for (const ch of raw) {
      const options = greekDigraph(before, ch) ?? spellingsOf(ch);
      if (!options) {
        spellable = false;
        break;
      }
      chars.push(options);
      before = ch;
    }
    if (!spellable) continue;
    // Punctuation at the ends is not part of a name a card carries ("-Ann" is ANN, "Dr." may be DR).
    while (chars.length && chars[0].every((o) => !/^[A-Z]/.test(o))) chars.shift();
    while (chars.length && chars[chars.length - 1].every((o) => o === '' || o === '-' || o === "'")) {
      chars.pop();
    }
    const first = chars.find((o) => o.some((s) => s !== ''));
    if (!first) continue;
    const pattern = chars
      .map((o) => (o.length === 1 ? escape(o[0]) : `(?:${o.map(escape).join('|')})`))
      .join('');
    words.push({
      chars,
      whole: new RegExp(`^${pattern}$`),
      initials: new Set(first.filter((s) => /^[A-Z]/.test(s)).map((s) => s[0])),
    });
  }
  return words;
}

const spelt = (w: Word) => w.chars.map((o) => o[0]).join('');
const initial = (w: Word) => [...w.initials][0];

/**
 * The name a card carries by default: the holder's name in Latin letters (spelt as above), upper-cased.
 * When it is longer than 26, names before the last are shortened to initials from the first on, then the
 * last is cut. A name with nothing to emboss gives CARDHOLDER.
 */
export function embossable(fullName: string): string {
  const words = wordsOf(fullName);
  if (!words.length) return NO_NAME;
  const parts = words.map(spelt);
  for (let i = 0; i < parts.length - 1 && parts.join(' ').length > MAX; i++) parts[i] = initial(words[i]);
  return parts.join(' ').slice(0, MAX).trim();
}

/**
 * Why `cardName` (as CARDHOLDER_NAME takes it) is not a form of the holder's name, or undefined when it is.
 * A card carries the name the bank verified (KYC), in its Latin spelling: its words in order, each whole
 * or as its initial (with or without a dot), words left out but at least one whole, and at least two
 * words when the name has two. Apostrophes and dots may be left out. A name with nothing to emboss allows
 * only CARDHOLDER. So a customer cannot have a card made out to someone else (helper-160 #3).
 */
export function cardNameProblem(cardName: string, fullName: string): string | undefined {
  const words = wordsOf(fullName);
  const told = `your name as the bank verified it, ${JSON.stringify(embossable(fullName))}`;
  if (!words.length) {
    return cardName === NO_NAME
      ? undefined
      : `your verified name has no Latin letters to emboss: leave cardholder_name out (the card carries ${NO_NAME})`;
  }
  const tokens = cardName.split(' ').filter(Boolean);
  let at = 0;
  let whole = 0;
  for (const token of tokens) {
    const bare = token.replace(/\.$/, '');
    const found = words.findIndex(
      (w, i) => i >= at && (w.whole.test(token) || (bare.length === 1 && w.initials.has(bare))),
    );
    if (found < 0) return `must be ${told}, its words in order, whole or as initials`;
    if (words[found].whole.test(token)) whole++;
    at = found + 1;
  }
  if (!whole) return `must hold at least one word of ${told} in full`;
  if (tokens.length < Math.min(2, words.length)) return `must hold at least two words of ${told}`;
  return undefined;
}
