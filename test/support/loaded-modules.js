/**
 * Preloaded (`node --require`) into an app by the traces test: when the process exits, writes which
 * OpenTelemetry modules it had loaded to $PB_LOADED_MODULES_DIR/<pid>.json, with the app's entry point.
 */
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.PB_LOADED_MODULES_DIR;
if (dir) {
  process.on('exit', () => {
    const loaded = Object.keys(require.cache).filter((f) => /[\\/](@opentelemetry|bullmq-otel)[\\/]/.test(f));
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify({ entry: process.argv[1], loaded }));
  });
}
