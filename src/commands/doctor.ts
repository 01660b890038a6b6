/** `cclab doctor`: the preflight checks alone, each with ✓/✗ and a fix. */
import type { Context } from '../context.js';
import { PreflightError } from '../errors.js';
import type { Lab } from '../lab/types.js';
import { memoProbes, runPreflight, type Probes } from '../pipeline/preflight.js';
import { hostDetection, labDeps, probesFor } from './deps.js';
import { prepareLab, type LabInputOptions } from './lab-input.js';

export async function run(opts: LabInputOptions & { json: boolean }, ctx: Context, probes?: Probes): Promise<void> {
  const deps = labDeps(ctx);
  const host = memoProbes(probes ?? probesFor(deps, ctx));
  const { lab, notes, warnings }: { lab: Lab; notes: string[]; warnings: string[] } = await prepareLab(
    { ...opts, architecture: opts.config ? undefined : opts.architecture ?? 'laptop', detect: hostDetection(host) },
    ctx,
  );
  const checks = await runPreflight(lab, host, { labDir: deps.store.dir(lab.name) });
  if (opts.json) ctx.io.out(JSON.stringify({ ok: checks.every((c) => c.ok), lab: lab.name, provider: lab.provider, notes, warnings, checks }, null, 2) + '\n');
  else {
    for (const n of notes) ctx.io.out(`${n}\n`);
    for (const w of warnings) ctx.io.out(`! ${w}\n`);
    ctx.io.out(`Checks for a ${lab.architecture} lab on ${lab.provider} (subnet ${lab.subnet.cidr}, box ${lab.box.name}):\n`);
    for (const c of checks) {
      ctx.io.out(`${c.ok ? (c.note ? '!' : '✓') : '✗'} ${c.check}: ${c.message}\n`);
      if (!c.ok && c.fix) ctx.io.out(`    fix: ${c.fix}\n`);
    }
  }
  const failed = checks.filter((c) => !c.ok);
  // Every failure with its fix is printed above (or is in the JSON document): not a second time.
  if (failed.length > 0) throw new PreflightError(failed.map((c) => ({ check: c.check, message: c.message, fix: c.fix ?? '' })), { printed: true });
}
