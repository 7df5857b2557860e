/**
 * The DataSource the TypeORM CLI loads (`migration:generate`, `migration:show`): the apps' own options
 * plus the entities, which generate diffs against. Run from dist/ after a build.
 */
import { DataSource } from 'typeorm';
import { dataSourceOptions, loadConfig } from '@protobank/platform';

export default new DataSource({
  ...dataSourceOptions(loadConfig()),
  entities: [`${__dirname}/../libs/*/src/**/*.entity.js`],
});
