/**
 * Babel config applied by Jest to ESM-only packages in node_modules (the @nestjs/* 12 packages).
 *
 * Why: Nest 12 ships ESM only. Node 20 loads it fine through require(esm) when the compiled app runs,
 * but Jest's module system cannot, so Jest transforms those files to CommonJS:
 *  - modules-commonjs (importInterop "node") turns import/export into require/exports;
 *  - dynamic-import turns `await import('class-validator')` into a require (without it Nest's
 *    ValidationPipe concludes class-validator is missing and the process exits);
 *  - transform-import-meta rewrites `import.meta.url`;
 *  - the visitor below renames Nest's top-level `const require = createRequire(import.meta.url)`,
 *    which otherwise collides with the `require` the CommonJS transform introduces
 *    ("Cannot access '_require' before initialization").
 */
function renameTopLevelRequire() {
  return {
    visitor: {
      Program(path) {
        const binding = path.scope.getBinding('require');
        if (binding && binding.kind !== 'module' && binding.path.isVariableDeclarator()) {
          path.scope.rename('require', '__nestCreateRequire');
        }
      },
    },
  };
}

module.exports = {
  plugins: [
    renameTopLevelRequire,
    'babel-plugin-transform-import-meta',
    ['@babel/plugin-transform-modules-commonjs', { importInterop: 'node' }],
    '@babel/plugin-transform-dynamic-import',
  ],
};
