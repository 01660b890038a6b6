/**
 * Progress of a long transfer (download, decompression, packing) on stderr. On a terminal one line
 * is redrawn (at most ten times a second); elsewhere (a log, CI) a line is printed every tenth of
 * the total, or every 64 MiB when the total is unknown. The text is pure (progressText).
 */
import { formatSize } from '../bounded-read.js';
import type { Io } from '../context.js';

export interface ProgressState {
  done: number;
  /** undefined when the server did not say. */
  total: number | undefined;
  /** Bytes moved in this run (not counting what a resumed download already had). */
  moved: number;
  elapsedMs: number;
}

/** `123.4 MiB of 500 MiB (24 %), 12.3 MiB/s`. */
export function progressText(s: ProgressState): string {
  const rate = s.elapsedMs > 0 ? (s.moved * 1000) / s.elapsedMs : 0;
  const of = s.total !== undefined ? ` of ${formatSize(s.total)} (${s.total > 0 ? Math.floor((100 * s.done) / s.total) : 100} %)` : '';
  return `${formatSize(s.done)}${of}, ${formatSize(Math.round(rate))}/s`;
}

export interface Progress {
  /** `done`: bytes so far (including what a resumed download had before). */
  update(done: number): void;
  /** The final line (a newline on a terminal). */
  finish(): void;
}

const UNKNOWN_TOTAL_STEP = 64 * 1024 * 1024;

export function progress(io: Io, label: string, opts: { total: number | undefined; start: number; now?: () => number }): Progress {
  const now = opts.now ?? Date.now;
  const t0 = now();
  const live = io.isTTY && io.errStream !== undefined;
  let lastDraw = 0;
  let lastStep = -1;
  let done = opts.start;
  const state = (): ProgressState => ({ done, total: opts.total, moved: done - opts.start, elapsedMs: now() - t0 });
  // Our own text only (label and numbers): the redraw may write the terminal's \r directly.
  const draw = () => io.errStream!.write(`\r${label}: ${progressText(state())}\u001b[K`);
  const step = () => (opts.total !== undefined && opts.total > 0 ? Math.floor((10 * done) / opts.total) : Math.floor(done / UNKNOWN_TOTAL_STEP));
  lastStep = step();
  return {
    update(n) {
      done = n;
      if (live) {
        const t = now();
        if (t - lastDraw >= 100) {
          lastDraw = t;
          draw();
        }
        return;
      }
      const s = step();
      if (s > lastStep && !(opts.total !== undefined && done >= opts.total)) {
        lastStep = s;
        io.err(`${label}: ${progressText(state())}\n`);
      }
    },
    finish() {
      if (live) {
        draw();
        io.errStream!.write('\n');
      } else io.err(`${label}: ${progressText(state())}\n`);
    },
  };
}
