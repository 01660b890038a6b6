/**
 * Vagrantfile.hbs → Vagrantfile. Every derived value is computed here first; the template only
 * places finished values, and the only way it can print one is the `rb` helper (rubyLiteral).
 * Handlebars runs with noEscape (HTML escaping is meaningless for Ruby) and strict (a missing
 * field is an error, not an empty string).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import type { Lab } from '../lab/types.js';
import { rubyLiteral } from './ruby.js';

export const VAGRANTFILE_TEMPLATE = fileURLToPath(new URL('../../Vagrantfile.hbs', import.meta.url));

let compiled: HandlebarsTemplateDelegate | undefined;

function compile(): HandlebarsTemplateDelegate {
  if (!compiled) {
    const hb = Handlebars.create();
    hb.registerHelper('rb', (value: unknown) => rubyLiteral(value));
    compiled = hb.compile(readFileSync(VAGRANTFILE_TEMPLATE, 'utf8'), { noEscape: true, strict: true });
  }
  return compiled;
}

export const USER_DATA_DIR = 'user-data';
export const userDataPath = (machine: string) => `${USER_DATA_DIR}/${machine}.yaml`;

export function provisionScript(lab: Lab, uploadsFleetd: boolean): string {
  const dir = lab.os === 'coreos' ? '/var/lib/coreos-vagrant' : '/var/lib/flatcar-vagrant';
  const steps: string[] = [];
  // fleetd first: the user-data's fleet.service starts as soon as coreos-cloudinit applies it.
  if (uploadsFleetd) steps.push('install -D -m 0755 /tmp/fleetd /opt/bin/fleetd', 'rm -f /tmp/fleetd');
  steps.push(`mkdir -p ${dir}`, `mv /tmp/vagrantfile-user-data ${dir}/vagrantfile-user-data`);
  return steps.join(' && ');
}

export interface VagrantfileOptions {
  version: string;
}

export function renderVagrantfile(lab: Lab, opts: VagrantfileOptions): string {
  // A local fleetd (lab.fleet.localFile, an absolute path by now) is uploaded instead of downloaded.
  const fleetd = lab.os === 'flatcar' && lab.machines.some((m) => m.fleet) ? lab.fleet.localFile : undefined;
  const qemu = lab.libvirt.driver === 'qemu';
  const cpuMode = lab.libvirt.cpuMode ?? (qemu ? 'custom' : undefined);
  const cpuModel = lab.libvirt.cpuModel ?? (qemu && cpuMode === 'custom' ? 'qemu64' : undefined);
  const data = {
    lab,
    version: opts.version,
    fleetd: fleetd ?? false,
    provisionScript: provisionScript(lab, fleetd !== undefined),
    libvirtCpu: cpuMode ? { mode: cpuMode, model: cpuModel ?? false } : false,
    libvirtNetworkName: `cclab-${lab.name}`,
    libvirtManagementName: `cclab-${lab.name}-mgmt`,
    libvirtPrefix: `cclab-${lab.name}-`,
    machines: lab.machines.map((m) => ({
      name: m.name,
      ip: m.ip,
      vmName: `${lab.name}-${m.name}`,
      dockerHostPort: m.dockerHostPort ?? false,
      userData: userDataPath(m.name),
    })),
  };
  return compile()(data);
}
