/**
 * Module boundaries (DESIGN.md §2), checked by `npm run lint`: a domain module may import
 * @protobank/contracts, @protobank/platform and its own files, never another domain module's files.
 * Only apps compose modules.
 */
const DOMAIN = '(auth|users|accounts|transactions|cards|payments|notifications|analytics)';

module.exports = {
  forbidden: [
    {
      name: 'domain-module-boundary',
      comment: 'A domain module reaches another only through @protobank/contracts (its API token or events).',
      severity: 'error',
      from: { path: `^libs/${DOMAIN}/` },
      to: { path: `^libs/${DOMAIN}/`, pathNot: '^libs/$1/' },
    },
    {
      name: 'platform-knows-no-domain',
      comment: 'The platform serves every module and depends on none of them.',
      severity: 'error',
      from: { path: '^libs/platform/' },
      to: { path: `^libs/${DOMAIN}/` },
    },
    {
      name: 'contracts-stand-alone',
      comment: 'Contracts are types, tokens and patterns: they import nothing of ours.',
      severity: 'error',
      from: { path: '^libs/contracts/' },
      to: { path: '^(libs/(?!contracts/)|apps/|migrations/)' },
    },
    {
      name: 'libs-do-not-import-apps',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^dist/|\\.spec\\.ts$)' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
