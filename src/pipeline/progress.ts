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

export function taskList<T extends object>(ctx: Context, tasks: ListrTask<T>[], opts: { verbose?: boolean; concurrent?: boolean } = {}): Listr<T> {
  const stream = errWriteStream(ctx);
  const logger = new ListrLogger({ processOutput: new ProcessOutput(stream, stream) });
  const live = ctx.io.isTTY && !opts.verbose;
  return new Listr<T>(tasks, {
    concurrent: opts.concurrent ?? false,
    exitOnError: true,
    registerSignalListeners: false,
    renderer: live ? 'default' : 'simple',
    fallbackRenderer: 'simple',
    rendererOptions: live ? { logger, outputBar: 1, collapseSubtasks: false, showErrorMessage: false } : { logger },
    fallbackRendererOptions: { logger },
  } as never);
}
