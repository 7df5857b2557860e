import { CARDHOLDER_NAME, embossable } from './cardholder-name';

describe('cardholder name', () => {
  it.each([
    ['Alice Smith', 'ALICE SMITH'],
    ['  Zoë   Brontë-Nuñez ', 'ZOE BRONTE-NUNEZ'],
    ["Seán O'Brien", "SEAN O'BRIEN"],
    ['Dr. J. R. Tolkien', 'DR. J. R. TOLKIEN'],
    ['-Leading Hyphen', 'LEADING HYPHEN'],
    ['Bartholomew Maximilian Featherstonehaugh', 'BARTHOLOMEW MAXIMILIAN FEA'],
    ['李小龍', 'CARDHOLDER'],
    ['Ann\u202eSmith', 'ANN SMITH'],
    ['', 'CARDHOLDER'],
  ])('embosses %j as %j', (name, embossed) => {
    expect(embossable(name)).toBe(embossed);
    expect(embossed).toMatch(CARDHOLDER_NAME);
  });
});
