/**
 * Merchant category groups: what a customer can block on a card and what analytics groups spending by,
 * mapped from the ISO 18245 merchant category code (MCC) the card network sends. One small table; a code
 * it does not list is `other`.
 */
export const CATEGORY_GROUPS = [
  'gambling',
  'groceries',
  'eating_out',
  'transport',
  'fuel',
  'cash',
  'shopping',
  'other',
] as const;
export type CategoryGroup = (typeof CATEGORY_GROUPS)[number];

const BY_MCC = new Map<string, CategoryGroup>(
  Object.entries({
    '7995': 'gambling', // betting, lottery tickets, casino chips
    '7800': 'gambling', // government-owned lotteries
    '7801': 'gambling', // internet gambling
    '7802': 'gambling', // horse and dog racing
    '5411': 'groceries', // grocery stores, supermarkets
    '5412': 'groceries',
    '5422': 'groceries', // freezer and meat lockers
    '5499': 'groceries', // convenience and speciality food
    '5812': 'eating_out', // restaurants
    '5813': 'eating_out', // bars, pubs
    '5814': 'eating_out', // fast food
    '4111': 'transport', // local commuter transport
    '4121': 'transport', // taxis
    '4131': 'transport', // bus lines
    '4112': 'transport', // passenger railways
    '5541': 'fuel', // service stations
    '5542': 'fuel', // automated fuel dispensers
    '6010': 'cash', // manual cash disbursements
    '6011': 'cash', // ATMs
    '5311': 'shopping', // department stores
    '5399': 'shopping', // general merchandise
    '5999': 'shopping', // miscellaneous retail
    '5691': 'shopping', // clothing
    '5732': 'shopping', // electronics
  } satisfies Record<string, CategoryGroup>),
);

/** The group of a merchant category code (4 digits); anything else, unknown codes included, is other. */
export function categoryOf(mcc: string): CategoryGroup {
  // A Map, not an object: a code such as "__proto__" or "constructor" must not find a prototype's member.
  return BY_MCC.get(mcc) ?? 'other';
}
