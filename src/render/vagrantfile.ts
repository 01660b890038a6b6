/**
 * Vagrantfile.hbs → Vagrantfile. Every derived value is computed here first; the template only
 * places finished values, and the only way it can print one is the `rb` helper (rubyLiteral).
 * Handlebars runs with noEscape (HTML escaping is meaningless for Ruby); a missing field is an
 * error, not an empty string or a skipped block (see compileVagrantfileTemplate).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import type { Lab } from '../lab/types.js';
import { ignitionPath, LAB_KEY_PATH, userDataPath } from './layout.js';
import { rubyLiteral } from './ruby.js';
import { remoteIgnitionPath, remoteLibvirtOf } from '../providers/libvirt-uri.js';

export const VAGRANTFILE_TEMPLATE = fileURLToPath(new URL('../../Vagrantfile.hbs', import.meta.url));

let compiled: HandlebarsTemplateDelegate<VagrantfileData> | undefined;

/**
 * Compiles a Vagrantfile template. Handlebars' strict mode only checks plain `{{path}}` mustaches,
 * and this template has none (it prints through `rb`, which refuses undefined): so the block
 * helpers are made strict here too, and `{{#if}}`/`{{#each}}` on a missing field is an error rather
 * than a silently skipped block. Optional values reach the template as `false`, never undefined.
 */
export function compileVagrantfileTemplate(source: string): HandlebarsTemplateDelegate {
  const hb = Handlebars.create();
  hb.registerHelper('rb', (value: unknown) => rubyLiteral(value));
  for (const name of ['if', 'unless', 'each', 'with']) {
    const builtin = hb.helpers[name]! as (this: unknown, ...args: unknown[]) => unknown;
    hb.registerHelper(name, function (this: unknown, ...args: unknown[]) {
      const options = args[args.length - 1] as { loc?: { start: { line: number } } };
      if (args.length < 2 || args[0] === undefined) {
        throw new TypeError(`Vagrantfile template line ${options.loc?.start.line ?? '?'}: {{#${name}}} of a missing field`);
      }
      return builtin.apply(this, args);
    });
  }
  return hb.compile(source, { noEscape: true, strict: true });
}

function compile(): HandlebarsTemplateDelegate<VagrantfileData> {
  compiled ??= compileVagrantfileTemplate(readFileSync(VAGRANTFILE_TEMPLATE, 'utf8'));
  return compiled;
}


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
  /** The lab is provisioned with Ignition through fw_cfg (libvirt): Vagrant only boots the machines. */
  ignition?: boolean;
}

export function renderVagrantfile(lab: Lab, opts: VagrantfileOptions): string {
  return compile()(vagrantfileData(lab, opts));
}

/**
 * Everything Vagrantfile.hbs can place, and nothing else: the template sees this object, not the
 * lab, so a field it uses is declared here with its type. Optional values are `false`, never
 * undefined (the block helpers refuse undefined, so a misspelt field in the template fails loudly).
 */
export interface VagrantfileData {
  lab: Pick<Lab, 'name' | 'architecture' | 'os' | 'channel' | 'memory' | 'cpus'> & {
    box: { name: string; url: string | false; version: string | false };
    libvirt: Pick<Lab['libvirt'], 'driver' | 'managementNetwork'>;
    docker: Lab['docker'];
  };
  /** The cclab version named in the header comment. */
  version: string;
  /**
   * Ignition labs: the lab's own private key (relative to the Vagrantfile) for user core; false
   * for cloud-config labs (Vagrant's insecure key, which the boxes are built for).
   */
  ignition: { privateKey: string } | false;
  /** Absolute path of a local fleetd uploaded to every machine, or false. */
  fleetd: string | false;
  /** The shell line each machine's shell provisioner runs. */
  provisionScript: string;
  libvirtCpu: { mode: string; model: string | false } | false;
  libvirtNetworkName: string;
  libvirtManagementName: string;
  libvirtPrefix: string;
  /** --libvirt-uri (lv.uri), or false for this host's default connection. */
  libvirtUri: string | false;
  machines: {
    name: string;
    ip: string;
    /** The lab NIC's MAC (aa:bb:…), and VirtualBox's form of it (12 hex digits). */
    mac: string;
    macDigits: string;
    vmName: string;
    dockerHostPort: number | false;
    /** The machine's cloud-config, relative to the Vagrantfile. */
    userData: string;
    /** The machine's Ignition config (relative to the Vagrantfile), passed through fw_cfg; false for cloud-config. */
    ignitionFile: string | false;
    /** On a remote libvirt host: where cclab copies that file there (QEMU opens it on that host); else false. */
    remoteIgnitionFile: string | false;
  }[];
}

/** The finished values the template places (every derived value computed here, none in the template). */
export function vagrantfileData(lab: Lab, opts: VagrantfileOptions): VagrantfileData {
  // A local fleetd (lab.fleet.localFile, an absolute path by now) is uploaded instead of downloaded.
  const fleetd = lab.os === 'flatcar' && lab.machines.some((m) => m.fleet) ? lab.fleet.localFile : undefined;
  const qemu = lab.libvirt.driver === 'qemu';
  const remote = remoteLibvirtOf(lab) !== undefined;
  const cpuMode = lab.libvirt.cpuMode ?? (qemu ? 'custom' : undefined);
  const cpuModel = lab.libvirt.cpuModel ?? (qemu && cpuMode === 'custom' ? 'qemu64' : undefined);
  return {
    lab: {
      name: lab.name,
      architecture: lab.architecture,
      os: lab.os,
      channel: lab.channel,
      memory: lab.memory,
      cpus: lab.cpus,
      box: { name: lab.box.name, url: lab.box.url ?? false, version: lab.box.version ?? false },
      libvirt: { driver: lab.libvirt.driver, managementNetwork: lab.libvirt.managementNetwork },
      docker: lab.docker,
    },
    version: opts.version,
    ignition: opts.ignition === true ? { privateKey: LAB_KEY_PATH } : false,
    // Ignition carries a local fleetd inside each config: nothing to upload.
    fleetd: (opts.ignition !== true && fleetd) || false,
    provisionScript: provisionScript(lab, fleetd !== undefined),
    libvirtCpu: cpuMode ? { mode: cpuMode, model: cpuModel ?? false } : false,
    libvirtNetworkName: `cclab-${lab.name}`,
    libvirtManagementName: `cclab-${lab.name}-mgmt`,
    libvirtPrefix: `cclab-${lab.name}-`,
    libvirtUri: lab.libvirt.uri ?? false,
    machines: lab.machines.map((m) => ({
      name: m.name,
      ip: m.ip,
      mac: m.mac,
      macDigits: m.mac.replace(/:/g, ''),
      vmName: `${lab.name}-${m.name}`,
      dockerHostPort: m.dockerHostPort ?? false,
      userData: userDataPath(m.name),
      ignitionFile: opts.ignition === true ? ignitionPath(m.name) : false,
      remoteIgnitionFile: opts.ignition === true && remote ? remoteIgnitionPath(lab.name, m.name) : false,
    })),
  };
}
