/** Loader hooks for module-trace.mjs: one line per module loaded ("esm URL" / "builtin node:x"). */
import { appendFileSync } from 'node:fs';

let file;
export function initialize(data) {
  file = data.file;
}

export async function load(url, context, nextLoad) {
  appendFileSync(file, `${url.startsWith('node:') ? 'builtin' : 'esm'} ${url}\n`);
  return nextLoad(url, context);
}
