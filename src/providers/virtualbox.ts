/** VirtualBox: the guide's provider and the default (Flatcar publishes a box for it). */
import { contains, formatCidr, parseCidr, VIRTUALBOX_ALLOWED, type Cidr } from '../lab/net.js';
import type { ProviderRecord } from './types.js';

/**
 * Ranges VirtualBox accepts for host-only networks: `* 10.0.0.0/8 192.168.0.0/16` lines of
 * /etc/vbox/networks.conf, or 192.168.56.0/21 when the file is absent.
 */
export function vboxAllowedRanges(conf: string | undefined): Cidr[] {
  if (conf === undefined) return [parseCidr(VIRTUALBOX_ALLOWED) as Cidr];
  const ranges: Cidr[] = [];
  for (const line of conf.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('*')) continue;
    for (const word of t.slice(1).trim().split(/\s+/)) {
      const c = parseCidr(word);
      if (typeof c !== 'string') ranges.push(c);
    }
  }
  return ranges;
}

export const virtualbox: ProviderRecord = {
  name: 'virtualbox',
  // VirtualBox cannot boot machines in parallel inside one Vagrant process, and two processes
  // importing the same box at once collide: the rest start once the first has imported it.
  sharedWorkDone: /^==> [^:]+: Booting VM\.\.\./,
  parallelInOneProcess: false,
  movesTakenPorts: true,
  configDelivery: 'uploaded by a Vagrant file provisioner to /var/lib/flatcar-vagrant/vagrantfile-user-data (coreos-vagrant on CoreOS), applied by the box',
  ignitionUnsupported: 'Flatcar’s virtualbox box takes Ignition only through a guest property limited to 1024 bytes, too small for a lab machine’s config',
  flatcarBoxJson: 'flatcar_production_vagrant.json',
  addFlatcarBox: undefined,
  qemuOpensIgnition: false,
  flatcarProvisioning: 'cloud-config',
  async usable(tools) {
    const out = await tools.run('VBoxManage', ['--version']);
    return { ok: true, detail: `VirtualBox ${out.trim()}` };
  },
  fix: 'install VirtualBox (VBoxManage must be on PATH), or use --provider libvirt on Linux',
  readsVboxNetworksConf: true,
  networkChecks: () => [],
  subnetChecks(lab, host) {
    const subnet = parseCidr(lab.subnet.cidr) as Cidr;
    const ranges = vboxAllowedRanges(host.vboxNetworksConf);
    const allowed = ranges.some((r) => contains(r, subnet));
    return [
      allowed
        ? { check: 'subnet allowed by VirtualBox', ok: true, message: `${lab.subnet.cidr} is inside ${ranges.map(formatCidr).join(', ')}` }
        : {
            check: 'subnet allowed by VirtualBox',
            ok: false,
            message: `VirtualBox ≥ 6.1.28 refuses host-only network ${lab.subnet.cidr}: allowed ${ranges.map(formatCidr).join(', ') || 'nothing'}`,
            fix: `pick a /24 inside 192.168.56.0/21 (e.g. --subnet 192.168.58.0/24), or allow it with a line "* ${lab.subnet.cidr}" in /etc/vbox/networks.conf`,
          },
    ];
  },
};
