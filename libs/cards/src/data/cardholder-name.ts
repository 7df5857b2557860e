/** What a card can carry embossed: Latin letters, spaces, apostrophes, dots and hyphens, 26 at most. */
export const CARDHOLDER_NAME = /^[A-Z][A-Z .'-]{0,25}$/;

/** The name a card carries when its holder's name has no Latin letters to emboss. */
export const NO_NAME = 'CARDHOLDER';

const MAX = 26;

/**
 * Latin spellings of upper-case letters, the first being the one embossed: the German and Nordic letters
 * that passports may spell either way (Ä as A or AE: ICAO Doc 9303, part 3), Latin letters that taking
 * accents off leaves outside A–Z (Ł, Ø, Æ, Þ…), then Cyrillic by Doc 9303's table with the spellings older
 * and national passports use (Ю as IU, YU or JU; Х as KH, H or X; Serbian Ч as C; Kazakh Қ as K or Q),
 * and Greek as Greek passports spell it (ELOT 743; its pairs of letters in `inContext`). Other letters are
 * spelt by taking their accents off (NFKD, so Ĳ is IJ); scripts with no spelling here (Han, Arabic…)
 * are not embossed.
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
  Ћ: ['C', 'CH'], У: ['U'], Ў: ['U'], Ф: ['F'], Х: ['KH', 'H', 'X'], Ц: ['TS', 'C', 'TZ'], Ч: ['CH', 'C'],
  Џ: ['DZ', 'DZH'], Ш: ['SH', 'S'], Щ: ['SHCH', 'SCH', 'SHT'], Ъ: ['IE', 'A', ''], Ы: ['Y', 'I'],
  Ь: ['', "'"], Э: ['E'], Ю: ['IU', 'YU', 'JU'], Я: ['IA', 'YA', 'JA'],
  Ә: ['A', 'AE', 'E'], Ғ: ['G', 'GH'], Қ: ['K', 'Q'], Ң: ['N', 'NG'], Ө: ['O', 'OE'], Ұ: ['U'],
  Ү: ['U', 'UE', 'Y'], Һ: ['H'], Җ: ['ZH', 'J'], Ҳ: ['H', 'KH'], Ӣ: ['I'], Ӯ: ['U'], Ҷ: ['J', 'DZH'],
  Ҹ: ['J', 'C'],
  // Greek
  Α: ['A'], Β: ['V', 'B'], Γ: ['G', 'GH', 'Y'], Δ: ['D', 'DH'], Ε: ['E'], Ζ: ['Z'], Η: ['I', 'E'],
  Θ: ['TH'], Ι: ['I'], Κ: ['K'], Λ: ['L'], Μ: ['M'], Ν: ['N'], Ξ: ['X', 'KS'], Ο: ['O'], Π: ['P'],
  Ρ: ['R'], Σ: ['S'], Τ: ['T'], Υ: ['Y', 'I', 'U'], Φ: ['F'], Χ: ['CH', 'KH', 'H'], Ψ: ['PS'], Ω: ['O'],
};

/** Joins two tokens of a card's name where a space stands for an apostrophe: only an apostrophe spells it. */
const AS_SPACE = '\u0001';
/**
 * Punctuation and apostrophe-like letters a name may hold, as a card can carry them: ' and . may go, and an
 * apostrophe may be a space (AS_SPACE).
 */
const APOSTROPHE = ["'", '', AS_SPACE];
const PUNCTUATION: Record<string, string[]> = {
  "'": APOSTROPHE,
  '’': APOSTROPHE,
  '‘': APOSTROPHE,
  // The modifier letter apostrophe (Ukrainian Марʼяна), the ʻokina and the ʿayn and hamza of
  // transliterated Arabic.
  ʼ: APOSTROPHE,
  ʻ: APOSTROPHE,
  ʿ: APOSTROPHE,
  ʾ: APOSTROPHE,
  '.': ['.', ''],
};
/** Marks of other scripts a name may hold, which a Latin spelling leaves out (as it does accents). */
const SILENT = /^[,·・゛゜׳״\u200c\u200d\p{M}]$/u;
/** What joins the parts of a compound name (Jean-Pierre). */
const HYPHENS = /[-‐‑–]/;

const base = (ch: string) => ch.normalize('NFD').replace(/\p{M}/gu, '');
const GREEK_VOWELS = ['Α', 'Ε', 'Η', 'Ι', 'Ο', 'Υ', 'Ω'];

/**
 * Greek letters spelt by the letters around them (ELOT 743), the letter-by-letter spelling also taken: a
 * pair spelt as one (`pair`: ΜΠ as B or MB, ΝΤ as D or ND, ΓΓ as NG, ΓΚ as NG or GK within a word and G
 * at its start, ΓΞ as NX, ΓΧ as NCH), so that no spelling drops one of the two (helper-163 saw STAMOULIS
 * taken for Σταμπούλης), and ΓΙ before a vowel as GI, YI or Y (Γιάννης as GIANNIS, YIANNIS or YANNIS); and Υ
 * after a vowel it sounds with (ΟΥ is OU; ΑΥ, ΕΥ and ΗΥ are AV or AF). Υ with a dialytika (Ϋ) is a vowel of
 * its own.
 */
function inContext(
  before: string,
  ch: string,
  after: string,
  then: string,
): { options: string[]; pair: boolean } | undefined {
  const [b, c, a] = [base(before), base(ch), base(after)];
  const pair = (options: string[]) => ({ options, pair: true });
  if (c === 'Μ' && a === 'Π') return pair(['MP', 'B', 'MB']);
  if (c === 'Ν' && a === 'Τ') return pair(['NT', 'D', 'ND']);
  if (c === 'Γ' && a === 'Γ') return pair(['NG', 'GG']);
  if (c === 'Γ' && a === 'Κ') return pair(b === '' ? ['GK', 'G'] : ['NG', 'GK', 'NK']);
  if (c === 'Γ' && a === 'Ξ') return pair(['NX', 'GX', 'NKS']);
  if (c === 'Γ' && a === 'Χ') return pair(['NCH', 'GCH', 'NKH']);
  if (c === 'Γ' && after === 'Ι' && GREEK_VOWELS.includes(base(then))) return pair(['GI', 'YI', 'Y']);
  if (c === 'Υ' && !ch.normalize('NFD').includes('\u0308')) {
    if (b === 'Ο') return { options: ['U', 'Y'], pair: false };
    if (b === 'Α' || b === 'Ε' || b === 'Η') return { options: ['V', 'F', 'Y', 'U'], pair: false };
  }
  return undefined;
}

/** A character's Latin spellings (upper case), or undefined when it has none. */
function spellingsOf(ch: string): string[] | undefined {
  if (PUNCTUATION[ch]) return PUNCTUATION[ch];
  if (SILENT.test(ch)) return [''];
  if (SPELLINGS[ch]) return SPELLINGS[ch];
  const plain = ch.normalize('NFKD').replace(/\p{M}/gu, '').toUpperCase();
  if (/^[A-Z]+$/.test(plain)) return [plain];
  const letter = base(ch);
  if (letter !== ch && letter.length === 1) return spellingsOf(letter);
  return undefined;
}

/** One part of a holder's name (a word, or one side of a hyphen), each character's spellings in order. */
interface Part {
  chars: string[][];
  /** The letters it may be shortened to (its first letter's spellings). */
  initials: Set<string>;
}

/** Whether `chars` spell `text` exactly, choosing one spelling per character (memoised: linear, no regex). */
function spells(chars: string[][], text: string): boolean {
  const known = new Map<number, boolean>();
  const from = (i: number, at: number): boolean => {
    if (i === chars.length) return at === text.length;
    const key = i * (text.length + 1) + at;
    let result = known.get(key);
    if (result === undefined) {
      result = chars[i].some((s) => text.startsWith(s, at) && from(i + 1, at + s.length));
      known.set(key, result);
    }
    return result;
  };
  return from(0, 0);
}

/**
 * How a token of a card's name stands for a part: spelt whole (a dot after it allowed, as in ST. for St), as
 * its initial, or not at all.
 */
function asPart(token: string, part: Part): 'whole' | 'initial' | undefined {
  const bare = token.replace(/\.$/, '');
  if (spells(part.chars, token) || (bare !== token && spells(part.chars, bare))) return 'whole';
  return bare.length === 1 && part.initials.has(bare) ? 'initial' : undefined;
}

/** A compound word's parts as one (Mary-Jane as MARYJANE), for a token that spells it whole. */
const joined = (parts: Part[]): Part => ({
  chars: parts.flatMap((part) => part.chars),
  initials: parts[0].initials,
});

/** A part's characters without what cannot begin or end a name on a card; undefined with no letter left. */
function trimmed(chars: string[][]): Part | undefined {
  let start = 0;
  let end = chars.length;
  while (start < end && chars[start].every((o) => !/^[A-Z]/.test(o))) start++;
  while (end > start && chars[end - 1].every((o) => APOSTROPHE.includes(o))) end--;
  const kept = chars.slice(start, end);
  const first = kept.find((o) => o.some((s) => s !== ''));
  if (!first) return undefined;
  return { chars: kept, initials: new Set(first.filter((s) => /^[A-Z]/.test(s)).map((s) => s[0])) };
}

/**
 * The words of a holder's name that a card can carry, in order, each as its parts (split at hyphens)
 * with their Latin spellings. A word with a letter that has none (Han, Arabic…) is left out.
 */
function wordsOf(fullName: string): Part[][] {
  return spelling(fullName).words;
}

/**
 * Whether every word of a holder's name has a Latin spelling here (so a card can carry all of it): then
 * it is what cards carry, whatever other spelling was verified (the KYC latin_name is for names without).
 */
export function spelledWhole(fullName: string): boolean {
  const { words, whole } = spelling(fullName);
  return whole && words.length > 0;
}

/** wordsOf's words, and whether no word was left out. */
function spelling(fullName: string): { words: Part[][]; whole: boolean } {
  const words: Part[][] = [];
  let whole = true;
  const upper = fullName.normalize('NFC').toUpperCase();
  for (const raw of upper.split(/(?:\s|(?![\u200c\u200d])\p{Cf})+/u)) {
    const letters = [...raw];
    const parts: Part[] = [];
    let chars: string[][] = [];
    let spellable = true;
    const close = () => {
      const part = trimmed(chars);
      if (part) parts.push(part);
      chars = [];
    };
    for (let i = 0; i < letters.length; i++) {
      const ch = letters[i];
      if (HYPHENS.test(ch)) {
        close();
        continue;
      }
      const near = inContext(letters[i - 1] ?? '', ch, letters[i + 1] ?? '', letters[i + 2] ?? '');
      if (near?.pair) i++;
      const options = near?.options ?? spellingsOf(ch);
      if (!options) spellable = false;
      else chars.push(options);
    }
    close();
    if (!spellable) whole = false;
    else if (parts.length) words.push(parts);
  }
  return { words, whole };
}

const spelt = (part: Part) => part.chars.map((o) => o[0]).join('');
const initial = (part: Part) => [...part.initials][0];

/**
 * The name a card carries by default: the holder's name in Latin letters (spelt as above), upper-cased.
 * When it is longer than 26, names before the last are shortened to initials from the first on (Jean-Pierre
 * to J-P), then the last is cut. A name with nothing to emboss gives CARDHOLDER.
 */
export function embossable(fullName: string): string {
  return embossedFrom(wordsOf(fullName));
}

function embossedFrom(words: Part[][]): string {
  const names = words.map((parts) => parts.map(spelt).join('-'));
  for (let i = 0; i < names.length - 1 && names.join(' ').length > MAX; i++) {
    names[i] = words[i].map(initial).join('-');
  }
  const name = names
    .join(' ')
    .slice(0, MAX)
    .replace(/[ .'-]+$/, '');
  return CARDHOLDER_NAME.test(name) ? name : NO_NAME;
}

/**
 * Why `cardName` (as CARDHOLDER_NAME takes it) is not a form of the holder's name, or undefined when it is.
 * A card carries the name the bank verified (KYC), in its Latin spelling: its default (embossable), or its
 * words in order, each whole or as its initial (with or without a dot), a compound one whole (JEAN-PIERRE,
 * MARYJANE), by its initials (J-P) or by its parts (JEAN PIERRE DUPONT); words and parts left out, but at
 * least one whole, and at least two words when the name has two. Apostrophes and dots may be left out, an
 * apostrophe may be a space (O BRIEN) and a whole word may take a dot (ST. for St). A name with nothing to
 * emboss allows only CARDHOLDER. So a customer cannot have a card made out to someone else (helper-160 #3).
 */
export function cardNameProblem(cardName: string, fullName: string): string | undefined {
  const words = wordsOf(fullName);
  const byDefault = embossedFrom(words);
  if (cardName === byDefault) return undefined;
  const told = `your name as the bank verified it, ${JSON.stringify(byDefault)}`;
  if (!words.length) {
    return `your verified name has no Latin letters to emboss: leave cardholder_name out (the card carries ${NO_NAME})`;
  }
  const tokens = cardName.split(' ').filter(Boolean);
  const problem = formProblem(tokens, words, told);
  if (!problem) return undefined;
  // A space where the name has an apostrophe: as many of the spaces between tokens as the name has
  // apostrophes (two at most: 78 tries), the tokens joined by a mark only an apostrophe spells (a Cyrillic
  // soft sign, spelt ' or not at all, is no space: IL YA for Илья).
  const apostrophes = words.flat().flatMap((part) => part.chars.filter((o) => o === APOSTROPHE)).length;
  for (const at of subsets(tokens.length - 1, Math.min(2, apostrophes))) {
    const variant: string[] = [];
    tokens.forEach((token, i) =>
      at.has(i - 1) ? (variant[variant.length - 1] += `${AS_SPACE}${token}`) : variant.push(token),
    );
    if (!formProblem(variant, words, told)) return undefined;
  }
  return problem;
}

/** The non-empty sets of at most `most` of the numbers 0 … n − 1. */
function* subsets(n: number, most: number, from = 0, taken: number[] = []): Generator<Set<number>> {
  for (let i = from; i < n && taken.length < most; i++) {
    const next = [...taken, i];
    yield new Set(next);
    yield* subsets(n, most, i + 1, next);
  }
}

/** Why the tokens of a card's name are not a form of the holder's `words` (cardNameProblem's rules). */
function formProblem(tokens: string[], words: Part[][], told: string): string | undefined {
  // Where the next token may start: word w, its part p on; and the words the tokens stood for.
  let [w, p] = [0, 0];
  let anyWhole = false;
  const used = new Set<number>();
  for (const token of tokens) {
    const pieces = token.split('-');
    let found = false;
    if (pieces.length > 1) {
      // A compound as one token: a later word with as many parts, each whole or an initial.
      for (let i = p === 0 ? w : w + 1; i < words.length && !found; i++) {
        const ways = words[i].length === pieces.length ? pieces.map((s, k) => asPart(s, words[i][k])) : [];
        if (ways.length && ways.every(Boolean)) {
          found = true;
          if (ways.includes('whole')) anyWhole = true;
          used.add(i);
          [w, p] = [i + 1, 0];
        }
      }
    } else {
      for (let i = w; i < words.length && !found; i++) {
        for (let k = i === w ? p : 0; k < words[i].length && !found; k++) {
          // A compound spelt as one word (MARYJANE) stands for all its parts.
          const all = k === 0 && words[i].length > 1 && asPart(token, joined(words[i])) === 'whole';
          const way = all ? 'whole' : asPart(token, words[i][k]);
          if (way) {
            found = true;
            if (way === 'whole') anyWhole = true;
            used.add(i);
            [w, p] = !all && k + 1 < words[i].length ? [i, k + 1] : [i + 1, 0];
          }
        }
      }
    }
    if (!found) return `must be ${told}, its words in order, whole or as initials`;
  }
  if (!anyWhole) return `must hold at least one word of ${told} in full`;
  // Words, not tokens: JEAN PIERRE is one word of Jean-Pierre Dupont.
  if (used.size < Math.min(2, words.length)) return `must hold at least two words of ${told}`;
  return undefined;
}
