/**
 * listr2 as cclab uses it: everything on stderr (stdout stays clean for data and --json), a live
 * renderer on a terminal, plain lines elsewhere, and no signal handlers of its own (cli.ts turns
 * Ctrl-C into an abort that the pipeline handles).
 */
import { Writable } from 'node:stream';
import { Listr, ListrLogger, ProcessOutput, type ListrTask } from 'listr2';
import type { Context } from '../context.js';

function errWriteStream(ctx: Context): NodeJS.WriteStream {
  if (ctx.io.isTTY && ctx.io.errStream) return ctx.io.errStream;
  const w = new Writable({
    write(chunk, _enc, cb) {
      ctx.io.err(String(chunk));
      cb();
    },
  });
  return w as unknown as NodeJS.WriteStream;
}

/** Whether taskList() draws live progress (a terminal on stderr, not --verbose): task output then needs no machine prefix. */
export function liveProgress(ctx: Context, opts: { verbose?: boolean } = {}): boolean {
  return ctx.io.isTTY && !opts.verbose;
}

export function taskList<T extends object>(ctx: Context, tasks: ListrTask<T>[], opts: { verbose?: boolean; concurrent?: boolean } = {}): Listr<T> {
  const stream = errWriteStream(ctx);
  const logger = new ListrLogger({ processOutput: new ProcessOutput(stream, stream) });
  const live = liveProgress(ctx, opts);
  return new Listr<T>(tasks, {
    concurrent: opts.concurrent ?? false,
    exitOnError: true,
    registerSignalListeners: false,
    renderer: live ? 'default' : 'simple',
    fallbackRenderer: 'simple',
    // The live renderer draws on stderr; listr2 would fall back to plain lines whenever stdout is
    // not a terminal (`cclab up --json > out.json`), and the lines would lose their machine names.
    // Whether stderr is a terminal decides, here only.
    ...(live ? { forceTTY: true } : {}),
    fallbackRendererCondition: !live,
    rendererOptions: live ? { logger, outputBar: 1, collapseSubtasks: false, showErrorMessage: false } : { logger },
    fallbackRendererOptions: { logger },
  } as never);
}
