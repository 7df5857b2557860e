import { CARDHOLDER_NAME, cardNameProblem, embossable, spelledWhole } from './cardholder-name';

describe('cardholder name', () => {
  it.each([
    ['Alice Smith', 'ALICE SMITH'],
    ['  Zoë   Brontë-Nuñez ', 'ZOE BRONTE-NUNEZ'],
    ["Seán O'Brien", "SEAN O'BRIEN"],
    ['Seán O’Brien', "SEAN O'BRIEN"],
    ['Dr. J. R. Tolkien', 'DR. J. R. TOLKIEN'],
    ['-Leading Hyphen', 'LEADING HYPHEN'],
    ['Łukasz Żółć', 'LUKASZ ZOLC'],
    ['Jürgen Groß', 'JURGEN GROSS'],
    ['Søren Ærø', 'SOREN AERO'],
    ['Юлия Щербакова', 'IULIIA SHCHERBAKOVA'],
    ['Алексей Ёлкин', 'ALEKSEI ELKIN'],
    ['Γιώργος Παπαδόπουλος', 'GIORGOS PAPADOPOULOS'],
    ['Ευάγγελος Μαΐστρος', 'EVANGELOS MAISTROS'],
    ['Αγγελική Ντόκου', 'ANGELIKI NTOKOU'],
    ['Марʼяна Кузьменко', "MAR'IANA KUZMENKO"],
    ['Ĳsbrand Ǆurić', 'IJSBRAND DZURIC'],
    ['Әлия Нұрланқызы', 'ALIIA NURLANKYZY'],
    ['Јован Чолић', 'JOVAN CHOLIC'],
    ['Jean-Pierre Featherstonehaugh', 'J-P FEATHERSTONEHAUGH'],
    ['Bartholomew Maximilian Featherstonehaugh', 'B M FEATHERSTONEHAUGH'],
    ['Maximiliana Featherstonehaugh-Cholmondeley', 'M FEATHERSTONEHAUGH-CHOLMO'],
    ['Ivan 李', 'IVAN'],
    ['李小龍', 'CARDHOLDER'],
    ['علی‌رضا', 'CARDHOLDER'],
    ['Ann\u202eSmith', 'ANN SMITH'],
    ['', 'CARDHOLDER'],
  ])('embosses %j as %j', (name, embossed) => {
    expect(embossable(name)).toBe(embossed);
    expect(embossed).toMatch(CARDHOLDER_NAME);
  });

  it.each([
    ['ALICE SMITH', 'Alice Smith'],
    ['A SMITH', 'Alice Smith'],
    ['A. SMITH', 'Alice Smith'],
    ['ALICE S', 'Alice Smith'],
    ['ALICE J SMITH', 'Alice Jane Smith'],
    ['ALICE SMITH', 'Alice Jane Smith'],
    ["ZOE O'NEIL-SMITH", 'Zoë O’Neil-Smith'],
    ['ZOE ONEIL-SMITH', 'Zoë O’Neil-Smith'],
    ['Z O NEIL-SMITH', 'Zoë O’Neil-Smith'.replace('’', ' ')],
    ['JURGEN MUELLER', 'Jürgen Müller'],
    ['JUERGEN MULLER', 'Jürgen Müller'],
    ['YULIYA SHCHERBAKOVA', 'Юлия Щербакова'],
    ['JULIJA SCHERBAKOVA', 'Юлия Щербакова'],
    ['IULIIA SHCHERBAKOVA', 'Юлия Щербакова'],
    ['Y SHCHERBAKOVA', 'Юлия Щербакова'],
    ['DR J R TOLKIEN', 'Dr. J. R. Tolkien'],
    ['GEORGIOS PAPADOPOULOS', 'Γεώργιος Παπαδόπουλος'],
    ['EFAGGELOS MAISTROS', 'Ευάγγελος Μαΐστρος'],
    ['EVANGELOS MAISTROS', 'Ευάγγελος Μαΐστρος'],
    ['ANGELIKI DOKOU', 'Αγγελική Ντόκου'],
    ['MARIANA KUZMENKO', 'Марʼяна Кузьменко'],
    ['MARYANA KUZMENKO', 'Марʼяна Кузьменко'],
    ['ALIYA NURLANQYZY', 'Әлия Нұрланқызы'],
    ['JOVAN COLIC', 'Јован Чолић'],
    ['VOJISLAV SESELJ', 'Војислав Шешељ'],
    ['ZOE ONEIL SMITH', 'Zoë O’Neil-Smith'],
    ['JEAN PIERRE DUPONT', 'Jean-Pierre Dupont'],
    ['J-P DUPONT', 'Jean-Pierre Dupont'],
    ['J.-P. DUPONT', 'Jean-Pierre Dupont'],
    ['PIERRE DUPONT', 'Jean-Pierre Dupont'],
    ['JEAN PIERRE DUPONT', 'Jean-Pierre Dupont'],
    ['STAMBOULIS GIORGOS', 'Σταμπούλης Γιώργος'],
    ['STAMPOULIS GIORGOS', 'Σταμπούλης Γιώργος'],
    ['ANGELOS GKIKAS', 'Άγγελος Γκίκας'],
    ['AGGELOS GIKAS', 'Άγγελος Γκίκας'],
    ['J DUPONT', 'Jean-Pierre Dupont'],
    ['IJSBRAND DZURIC', 'Ĳsbrand Ǆurić'],
    ['LEILANI KAAPUNI', 'Leilani Kaʻapuni'],
    ["LEILANI KA'APUNI", 'Leilani Kaʻapuni'],
    ['M FEATHERSTONEHAUGH-CHOLMO', 'Maximiliana Featherstonehaugh-Cholmondeley'],
    ['IVAN', 'Ivan 李'],
    ['ALICE SMITH', 'Alicé Smith'],
    ['CARDHOLDER', '李小龍'],
    // Passport and card spellings helper-162 and helper-163 saw refused.
    ['SEAN O BRIEN', "Seán O'Brien"],
    ['D ARCY O NEIL-SMITH', "D'Arcy O'Neil-Smith"],
    ["D'ARCY O NEIL SMITH", "D'Arcy O'Neil-Smith"],
    ['MARYJANE SMITH', 'Mary-Jane Smith'],
    ['ST. JOHN SMITH', 'St John Smith'],
    ['ST JOHN SMITH', 'St. John Smith'],
    ['YANNIS PAPAS', 'Γιάννης Παπάς'],
    ['YIANNIS PAPAS', 'Γιάννης Παπάς'],
    ['GIANNIS PAPAS', 'Γιάννης Παπάς'],
    ['YORGOS PAPAS', 'Γιώργος Παπάς'],
    ['YIDAKIS PAPAS', 'Γιδάκης Παπάς'],
    ["NATAL'YA O NEIL", "Наталья O'Neil"],
  ])('takes %j for %j', (card, name) => {
    expect(card).toMatch(CARDHOLDER_NAME);
    expect(cardNameProblem(card, name)).toBeUndefined();
  });

  it.each([
    ['ELON MUSK', 'Alice Smith', 'words in order'],
    ['ALICE SMITHS', 'Alice Smith', 'words in order'],
    ['SMITH ALICE', 'Alice Smith', 'words in order'],
    ['ALICE', 'Alice Smith', 'at least two words'],
    ['SMITH', 'Alice Smith', 'at least two words'],
    ['A S', 'Alice Smith', 'in full'],
    ['ALICE SMITH JONES', 'Alice Smith', 'words in order'],
    ['MR ALICE SMITH', 'Alice Smith', 'words in order'],
    ['ALICE - SMITH', 'Alice Smith', 'words in order'],
    ['ALICIA SMITH', 'Alice Smith', 'words in order'],
    ['ZOE SMITH-ONEIL', 'Zoë O’Neil-Smith', 'words in order'],
    ['J-P-X DUPONT', 'Jean-Pierre Dupont', 'words in order'],
    ['PIERRE JEAN DUPONT', 'Jean-Pierre Dupont', 'words in order'],
    ['DUPONT J-P', 'Jean-Pierre Dupont', 'words in order'],
    ['JEAN PIERRE', 'Jean-Pierre Dupont', 'at least two words'],
    ['ANNA MARIA', 'Anna-Maria Smith', 'at least two words'],
    ['STAMOULIS GIORGOS', 'Σταμπούλης Γιώργος', 'words in order'],
    ['MENOS GIORGOS', 'Μπένος Γιώργος', 'words in order'],
    ['KONOS GIORGOS', 'Κόντος Γιώργος', 'words in order'],
    ['IVAN PETROV', '李小龍', 'no Latin letters'],
    ['CARDHOLDER', 'Alice Smith', 'words in order'],
    ['SEAN BRIEN', "Seán O'Brien", 'words in order'],
    ['O BRIEN', "Seán O'Brien", 'words in order'],
    ['ALICE O BRIEN', 'Alice Obrien', 'words in order'],
    ['MJ SMITH', 'Mary-Jane Smith', 'words in order'],
    ['MARYJANE', 'Mary-Jane Smith', 'at least two words'],
    ['YANIS PAPAS', 'Γιάννης Παπάς', 'words in order'],
    ['YDAKIS PAPAS', 'Γιδάκης Παπάς', 'words in order'],
    // A soft sign is no apostrophe: it may not be a space (helper-165 L3).
    ['IL YA PETROV', 'Илья Петров', 'words in order'],
    ["NATAL YA O'NEIL", "Наталья O'Neil", 'words in order'],
  ])('refuses %j for %j', (card, name, why) => {
    expect(cardNameProblem(card, name)).toContain(why);
  });

  it('tells whether every word of a name has a Latin spelling', () => {
    expect(
      ['Alice Smith', 'Zoë O’Neil-Smith', 'Юлия Щербакова', 'Dr. J. R. Tolkien'].map(spelledWhole),
    ).toEqual([true, true, true, true]);
    expect(['李小龍', 'Ivan 李', 'علی‌رضا', ''].map(spelledWhole)).toEqual([false, false, false, false]);
  });

  it('takes back every default it embosses', () => {
    for (const name of [
      'Maximiliana Featherstonehaugh-Cholmondeley',
      'Anna Featherstonehaugh-Cholmondeley',
      'Bartholomew Maximilian Featherstonehaugh',
      'Jean-Pierre Featherstonehaugh-Cholmondeley Smythe',
      'Ivan 李',
      '李小龍',
      "D'Arcy O'Neil-Smith",
      'Dr. J. R. Tolkien',
    ]) {
      expect({ name, problem: cardNameProblem(embossable(name), name) }).toEqual({
        name,
        problem: undefined,
      });
    }
  });

  // The first matcher (a regular expression per word) backtracked on these: 24 s and 87 s (helper-162).
  it('judges long runs of optional characters without backtracking', () => {
    expect(cardNameProblem("A''''''''''X", `A${"'".repeat(40)}B Smith`)).toContain('words in order');
    expect(cardNameProblem('A SMITH', `Ъ${'Ъ'.repeat(60)}А Smith`)).toBeUndefined();
    expect(cardNameProblem('IEIEIEIEIEIEIEIEIEIEIE X', `${'Ъ'.repeat(100)} Smith`)).toContain(
      'words in order',
    );
    // Spaces tried as apostrophes: 78 variants of 13 tokens against 66 words.
    expect(cardNameProblem('A B C D E F G H I J K L M', Array(66).fill("A'B").join(' '))).toContain(
      'words in order',
    );
  });

  it('tells the customer the name as the bank verified it', () => {
    expect(cardNameProblem('ELON MUSK', 'Zoë O’Neil-Smith')).toBe(
      `must be your name as the bank verified it, "ZOE O'NEIL-SMITH", its words in order, whole or as initials`,
    );
  });
});
