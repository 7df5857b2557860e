export { CardsModule } from './cards.module';
export {
  CardDirectory,
  type CardRecord,
  type CardDataDecline,
  type CardStateDecline,
} from './network/card-directory';
export { CardKeys } from './data/card-keys';
export { CATEGORY_GROUPS, categoryOf, type CategoryGroup } from './data/categories';
export { CardsConfig, CARDS_VARIABLES } from './cards.config';
