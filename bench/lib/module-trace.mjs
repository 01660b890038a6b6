/**
 * `node --import ./bench/lib/module-trace.mjs …` with BENCH_MODULE_TRACE=FILE: writes every module
 * the process loads to FILE, one per line — ES modules (and CommonJS modules imported from them)
 * through a loader hook, and at exit every CommonJS module in require's cache (nested `require()`
 * calls do not pass through the hooks). Used only to list what a command loads, never while timing.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const file = process.env.BENCH_MODULE_TRACE;
if (file) {
  register('./module-trace-hooks.mjs', import.meta.url, { data: { file } });
  const require = createRequire(import.meta.url);
  process.on('exit', () => {
    const cjs = Object.keys(require.cache).map((f) => `cjs ${f}`);
    if (cjs.length > 0) appendFileSync(file, cjs.join('\n') + '\n');
  });
}
