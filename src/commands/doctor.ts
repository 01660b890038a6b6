/**
 * `cclab doctor`: the preflight checks alone, each with ✓/✗ and a fix. With --fix, the commands
 * that fix what this host lacks (src/pipeline/host-fix.ts plans them) are printed, then run after a
 * yes (or with --yes), and the checks run again.
 */
import type { Context } from '../context.js';
import { PreflightError, UsageError } from '../errors.js';
import type { Lab } from '../lab/types.js';
import { memoProbes, runPreflight, type Probes } from '../pipeline/preflight.js';
import type { FixPlan, HostSetupFacts } from '../pipeline/host-fix.js';
import type { StepRunner } from '../pipeline/host-setup.js';
import type { PreflightCheck } from '../providers/types.js';
import { quoteCommand } from '../vagrant/quote.js';
import { hostDetection, labDeps, probesFor } from './deps.js';
import { prepareLab, type LabInputOptions } from './lab-input.js';

export interface DoctorOptions extends LabInputOptions {
  json: boolean;
  /** Plan the fixes of failed checks, and run them after a yes. */
  fix?: boolean;
  /** Run the fixes without asking. */
  yes?: boolean;
}

/** The host side of --fix, injected by tests. */
export interface FixDeps {
  facts(): Promise<HostSetupFacts>;
  run: StepRunner;
}

async function realFixDeps(ctx: Context): Promise<FixDeps> {
  const { realHostFacts, realStepRunner } = await import('../pipeline/host-setup.js');
  return {
    facts: () => realHostFacts({ env: ctx.env }),
    run: realStepRunner({ env: ctx.env, signal: ctx.signal, err: (t) => ctx.io.err(t) }),
  };
}

export async function run(opts: DoctorOptions, ctx: Context, probes?: Probes, fixDeps?: FixDeps): Promise<void> {
  const deps = labDeps(ctx);
  const freshProbes = () => memoProbes(probes ?? probesFor(deps, ctx));
  const host = freshProbes();
  const { lab, notes, warnings, detected } = await prepareLab(
    { ...opts, architecture: opts.config ? undefined : opts.architecture ?? 'laptop', detect: hostDetection(host) },
    ctx,
  );
  const checks = await runPreflight(lab, host, { labDir: deps.store.dir(lab.name) });
  const failedOf = (cs: PreflightCheck[]) => cs.filter((c) => !c.ok);
  if (!opts.fix || failedOf(checks).length === 0) {
    if (opts.json) ctx.io.out(JSON.stringify({ ok: failedOf(checks).length === 0, lab: lab.name, provider: lab.provider, notes, warnings, checks }, null, 2) + '\n');
    else {
      printChecks(ctx, lab, checks, notes, warnings);
      if (opts.fix) ctx.io.out('Nothing to fix.\n');
    }
    return failWith(failedOf(checks));
  }

  // --fix: the plan first, then (after a yes) the commands, then the checks again.
  if (!opts.json) printChecks(ctx, lab, checks, notes, warnings);
  const fx = fixDeps ?? (await realFixDeps(ctx));
  const { planHostFixes } = await import('../pipeline/host-fix.js');
  const plan = planHostFixes({
    facts: await fx.facts(),
    failed: failedOf(checks),
    provider: lab.provider,
    providerChosen: detected.provider !== undefined,
    subnet: lab.subnet.cidr,
  });
  // The plan is part of the result: stdout, as the checks (with --json, in the one document).
  if (!opts.json) printPlan(ctx, plan);
  const document = (extra: Record<string, unknown>) =>
    ctx.io.out(JSON.stringify({ ok: false, lab: lab.name, provider: lab.provider, notes, warnings, checks, fix: { ...planJson(plan), ...extra } }, null, 2) + '\n');

  if (plan.refused !== undefined || plan.steps.length === 0) {
    if (opts.json) document({ ran: [] });
    return failWith(failedOf(checks), plan.refused);
  }
  if (!opts.yes) {
    const answer = ctx.ask ? await ctx.ask(`Run ${plan.steps.length === 1 ? 'this command' : `these ${plan.steps.length} commands`}? [y/N] `) : undefined;
    if (answer === undefined) {
      if (opts.json) document({ ran: [] });
      throw new UsageError('doctor --fix changes this host only after a yes, and there is no terminal to ask on', {
        hint: 'run it again with --yes to run the commands printed above (nothing was changed)',
      });
    }
    if (!/^y(es)?$/i.test(answer.trim())) {
      ctx.io.err('Nothing was changed.\n');
      if (opts.json) document({ ran: [] });
      return failWith(failedOf(checks));
    }
  }
  const ran: string[] = [];
  for (const [i, step] of plan.steps.entries()) {
    ctx.io.err(`[${i + 1}/${plan.steps.length}] ${quoteCommand(step.argv)}\n`);
    await fx.run(step.argv);
    ran.push(quoteCommand(step.argv));
  }
  // The host changed: ask it everything again (no remembered answers), the provider too when the
  // host chose it (libvirt, set up just now, is then the first usable).
  const again = freshProbes();
  const now = await prepareLab({ ...opts, architecture: opts.config ? undefined : opts.architecture ?? 'laptop', detect: hostDetection(again) }, ctx);
  const after = await runPreflight(now.lab, again, { labDir: deps.store.dir(now.lab.name) });
  if (opts.json) {
    ctx.io.out(JSON.stringify({ ok: failedOf(after).length === 0, lab: now.lab.name, provider: now.lab.provider, notes: now.notes, warnings: now.warnings, checks: after, fix: { ...planJson(plan), ran, before: checks } }, null, 2) + '\n');
  } else {
    ctx.io.out(`\nAfter the fixes${now.lab.provider !== lab.provider ? ` (provider ${now.lab.provider} now)` : ''}:\n`);
    if (now.lab.provider !== lab.provider) for (const n of now.notes) ctx.io.out(`${n}\n`);
    for (const c of after) printCheck(ctx, c);
    for (const n of plan.notes) ctx.io.out(`note: ${n}\n`);
  }
  return failWith(failedOf(after));
}

function printChecks(ctx: Context, lab: Lab, checks: PreflightCheck[], notes: string[], warnings: string[]): void {
  for (const n of notes) ctx.io.out(`${n}\n`);
  for (const w of warnings) ctx.io.out(`! ${w}\n`);
  ctx.io.out(`Checks for a ${lab.architecture} lab on ${lab.provider} (subnet ${lab.subnet.cidr}, box ${lab.box.name}):\n`);
  for (const c of checks) printCheck(ctx, c);
}

function printCheck(ctx: Context, c: PreflightCheck): void {
  ctx.io.out(`${c.ok ? (c.note ? '!' : '✓') : '✗'} ${c.check}: ${c.message}\n`);
  if (!c.ok && c.fix) ctx.io.out(`    fix: ${c.fix}\n`);
}

function printPlan(ctx: Context, plan: FixPlan): void {
  if (plan.refused !== undefined) {
    ctx.io.out(`\ndoctor --fix runs nothing here: ${plan.refused}. The fixes above are yours to make.\n`);
    return;
  }
  if (plan.steps.length > 0) {
    ctx.io.out(`\ndoctor --fix would run:\n`);
    plan.steps.forEach((s, i) => ctx.io.out(`  ${i + 1}. ${quoteCommand(s.argv)}\n       (${s.why})\n`));
  }
  if (plan.manual.length > 0) {
    ctx.io.out(`\n${plan.steps.length > 0 ? 'Left to you' : 'doctor --fix has no command for these; they are yours to fix'}:\n`);
    for (const m of plan.manual) ctx.io.out(`  ✗ ${m.check}: ${m.fix}\n`);
  }
  for (const n of plan.notes) ctx.io.out(`note: ${n}\n`);
}

function planJson(plan: FixPlan) {
  return { steps: plan.steps.map((s) => ({ command: s.argv, why: s.why })), manual: plan.manual, notes: plan.notes, refused: plan.refused };
}

/** Every failure with its fix is on the screen (or in the JSON document): not a second time. */
function failWith(failed: PreflightCheck[], refused?: string): void {
  if (failed.length === 0) return;
  throw new PreflightError(
    failed.map((c) => ({ check: c.check, message: c.message, fix: c.fix ?? '' })),
    { printed: true, ...(refused !== undefined && { hint: `doctor --fix ran nothing: ${refused}` }) },
  );
}
