/**
 * `cclab render`: write a lab's files to a directory (a Vagrantfile and cloud-configs; Ignition
 * configs for real machines; a matchbox data directory); never runs Vagrant.
 */
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { makeDirectorySync } from '../home/errno.js';
import { IGNITION_DIR, LAB_KEY_PATH, USER_DATA_DIR } from '../render/layout.js';
import { labSecrets } from '../home/lab-secrets.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { shown as shownValue } from '../lab/shown.js';
import { checkMatchboxUrl, MATCHBOX_DIRS } from '../render/matchbox.js';
import { checkPlan, planLab, type Target } from '../render/plan.js';
import { remoteIgnitionDir, remoteLibvirtOf } from '../providers/libvirt-uri.js';
import { quoteCommand, quoteWord } from '../vagrant/quote.js';
import { version } from '../version.js';
import { prepareLab, type LabInputOptions } from './lab-input.js';

export interface RenderOptions extends LabInputOptions {
  out?: string | undefined;
  /** The lab options as given on the command line (argv words), for the `cclab up` to suggest. */
  flagArgs?: string[] | undefined;
  target: Target;
  /** --matchbox-url (--target matchbox). */
  matchboxUrl?: string | undefined;
  json: boolean;
}

export async function run(opts: RenderOptions, ctx: Context): Promise<void> {
  let matchboxUrl: string | undefined;
  if (opts.matchboxUrl !== undefined) {
    if (opts.target !== 'matchbox') throw new UsageError('--matchbox-url is for --target matchbox');
    matchboxUrl = checkMatchboxUrl(opts.matchboxUrl);
    if (matchboxUrl === undefined) {
      throw new UsageError(`--matchbox-url "${shownValue(opts.matchboxUrl)}" is not an http(s) URL without query, spaces or quotes`, {
        hint: 'e.g. --matchbox-url http://matchbox.example:8080',
      });
    }
  }
  const { lab, warnings } = await prepareLab(opts, ctx);
  const outDir = resolve(ctx.cwd, opts.out ?? lab.name);
  const provisioning = checkPlan(lab, { target: opts.target, matchboxUrl });
  const ignition = provisioning === 'ignition';
  // The output directory first (an error names it, not a file in it), then the lab's SSH key
  // (Ignition) and Docker certificates (TLS), made beside the files and kept when rendered again.
  makeDirectorySync(outDir);
  const { labPublicKey, dockerTls } = await labSecrets(lab, outDir, provisioning);
  // Ignition carries a local fleetd (there is no Vagrant to upload it): planLab reads it if so.
  const plan = planLab(lab, { target: opts.target, version: version(), matchboxUrl, readFleetd: (path) => readFileSync(path), labPublicKey, dockerTls });
  if (plan.target !== 'vagrant' && !ignition && lab.sshAuthorizedKeys.length === 0) {
    warnings.push('no SSH key given (--ssh-key or the lab file’s sshKeys): nobody will be able to log in to these machines as core');
  }
  if (plan.target === 'bare-metal' && plan.provisioning === 'ignition' && lab.machines.some((m) => !m.macGiven)) {
    warnings.push('no MAC given for some machines (--macs FILE): their network files match the interface eth0 instead of a MAC address');
  }
  for (const w of warnings) ctx.io.err(`warning: ${w}\n`);
  // Synchronous writes, each directory made once: a thousand-machine lab is written in a third less
  // time than with a promise per file (measured with bench/ab.mjs).
  const made = new Set<string>();
  for (const f of plan.files) {
    const path = join(outDir, f.path);
    const dir = dirname(path);
    if (!made.has(dir)) {
      makeDirectorySync(dir);
      made.add(dir);
    }
    writeFileSync(path, f.content);
  }
  // Rendering into a directory that holds an older render: configs of machines the lab no longer
  // has would pass for part of it (`cclab validate user-data/*`, provisioning from the directory).
  const written = plan.files.map((f) => f.path);
  const removed = [USER_DATA_DIR, IGNITION_DIR, MATCHBOX_DIRS.profiles, MATCHBOX_DIRS.groups].flatMap((d) => removeStaleConfigs(outDir, d, written));
  for (const r of removed) ctx.io.err(`Removed ${r}: the lab has no such machine.\n`);

  if (opts.json) {
    ctx.io.out(
      JSON.stringify(
        {
          outDir,
          target: plan.target,
          provisioning: plan.provisioning,
          files: plan.files.map((f) => ({ path: join(outDir, f.path), kind: f.kind, machine: f.machine })),
          ...(ignition && { sshKey: join(outDir, LAB_KEY_PATH) }),
          warnings,
          lab,
        },
        null,
        2,
      ) + '\n',
    );
    return;
  }
  const rel = relative(ctx.cwd, outDir);
  const shown = rel === '' ? '.' : rel.startsWith('..') ? outDir : rel;
  const where = opts.target === 'vagrant' ? lab.provider : opts.target === 'matchbox' ? 'matchbox' : 'bare metal';
  ctx.io.out(
    `Rendered lab ${lab.name} (${lab.architecture}, ${lab.os} ${lab.channel}, ${lab.machines.length} machine${lab.machines.length === 1 ? '' : 's'}) for ${where}${plan.provisioning === 'ignition' ? ' as Ignition' : ''} into ${shown}/\n`,
  );
  for (const f of plan.files) {
    const m = f.machine ? lab.machines.find((x) => x.name === f.machine) : undefined;
    ctx.io.out(`  ${join(shown, f.path)}${m ? `  (${m.role}, ${m.ip})` : ''}\n`);
  }
  if (ignition) ctx.io.out(`  ${join(shown, LAB_KEY_PATH)}  (the lab’s own SSH key for user core; keep it private)\n`);
  if (opts.target === 'vagrant') {
    // The same lab: the same file or architecture and every lab option given here.
    const up = ['cclab', 'up', ...(opts.config ? ['--config', opts.config] : [lab.architecture]), ...(opts.flagArgs ?? [])];
    const remote = remoteLibvirtOf(lab);
    // On another libvirt host QEMU opens the Ignition files there: `cclab up` copies them; by hand, copy them first.
    const copy =
      remote && ignition
        ? `copy ${quoteWord(join(shown, IGNITION_DIR))}/*.ign to ${remote.host}:${remoteIgnitionDir(lab.name)}/ (a directory QEMU's user can read), then `
        : '';
    ctx.io.err(`\nBoot it with \`${quoteCommand(up)}\`, or by hand: ${copy}cd ${quoteWord(shown)} && vagrant up\n`);
  } else if (opts.target === 'matchbox') {
    ctx.io.err(`\nServe it with matchbox (-data-path ${quoteWord(shown)}); each machine is selected by its MAC. Check the configs with \`cclab validate ${quoteWord(join(shown, IGNITION_DIR))}/*.ign\`.\n`);
  } else if (plan.provisioning === 'ignition') {
    ctx.io.err(
      `\nEach Ignition config carries the machine's static network (${lab.subnet.cidr}, gateway ${lab.subnet.gateway}); check them with \`cclab validate ${quoteWord(join(shown, IGNITION_DIR))}/*.ign\`. Log in with \`ssh -i ${quoteWord(join(shown, LAB_KEY_PATH))} core@${lab.machines[0]!.ip}\`.\n`,
    );
  } else {
    ctx.io.err(`\nEach user-data file carries a static eth0 network unit (${lab.subnet.cidr}, gateway ${lab.subnet.gateway}); check them with \`cclab validate ${quoteWord(join(shown, 'user-data'))}/*.yaml\`.\n`);
  }
}

/**
 * Removes from `<outDir>/<sub>/` (user-data, ignition, profiles, groups) the files with a config's
 * extension that the plan wrote there but not for this machine (configs of an earlier render).
 * Anything else there is left alone, and so is a directory the plan did not write to.
 */
function removeStaleConfigs(outDir: string, sub: string, written: string[]): string[] {
  const dir = join(outDir, sub);
  const ours = written.filter((p) => dirname(p) === sub);
  const exts = new Set(ours.map((p) => extname(p)));
  const keep = new Set(ours.map((p) => basename(p)));
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names.sort()) {
    if (keep.has(n) || !exts.has(extname(n))) continue;
    const path = join(dir, n);
    if (!statSync(path).isFile()) continue;
    rmSync(path);
    removed.push(join(sub, n));
  }
  return removed;
}
