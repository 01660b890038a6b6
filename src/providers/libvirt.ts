/** libvirt (vagrant-libvirt): Linux hosts without VirtualBox; KVM, or QEMU's emulation. */
import { hostAt, parseCidr, type Cidr } from '../lab/net.js';
import type { ProviderRecord } from './types.js';
import { boxAddCommand } from '../box/names.js';

const PLUGIN = 'vagrant-libvirt';

export const libvirt: ProviderRecord = {
  name: 'libvirt',
  // The base volume is uploaded and the networks are defined before the domain starts.
  sharedWorkDone: /^==> [^:]+: Starting domain\./,
  parallelInOneProcess: true,
  // vagrant-libvirt 0.11: each forward is an `ssh -L` that exits if the host port is taken, and
  // `vagrant up` is never told.
  movesTakenPorts: false,
  configDelivery:
    'Ignition through QEMU’s fw_cfg (opt/org.flatcar-linux/config) for Flatcar’s image; with a box of your own, cloud-config uploaded by a Vagrant file provisioner to /var/lib/flatcar-vagrant/vagrantfile-user-data (coreos-vagrant on CoreOS)',
  ignitionUnsupported: undefined,
  // Flatcar publishes no libvirt box, only a QEMU image: `cclab box add` packs it as one.
  flatcarBoxJson: undefined,
  addFlatcarBox: boxAddCommand,
  qemuOpensIgnition: true,
  flatcarProvisioning: 'ignition',
  async usable(tools) {
    const found = (await tools.plugins()).find((p) => p.name === PLUGIN);
    if (!found) return { ok: false, detail: `the Vagrant plugin ${PLUGIN} is not installed` };
    const uri = tools.env.LIBVIRT_DEFAULT_URI ?? 'qemu:///system';
    try {
      const out = await tools.run('virsh', ['-c', uri, 'version']);
      const line = out.split('\n').find((l) => /hypervisor/i.test(l)) ?? out.split('\n')[0] ?? '';
      return { ok: true, detail: `${PLUGIN} ${found.version}; libvirt answers at ${uri} (${line.trim()})` };
    } catch (e) {
      return { ok: false, detail: `${PLUGIN} ${found.version} is installed but libvirt does not answer at ${uri}: ${(e as Error).message}` };
    }
  },
  fix: 'install vagrant-libvirt (apt-get install vagrant-libvirt, or vagrant plugin install vagrant-libvirt) and make sure libvirtd runs and `virsh -c qemu:///system version` answers',
  readsVboxNetworksConf: false,
  subnetChecks: () => [],
  networkChecks(lab, host) {
    const mgmt = parseCidr(lab.libvirt.managementNetwork) as Cidr;
    const clash = host.clashes(mgmt, hostAt(mgmt, 1));
    return [
      clash.length === 0
        ? { check: 'libvirt management network', ok: true, message: `${lab.libvirt.managementNetwork} is free` }
        : {
            check: 'libvirt management network',
            ok: false,
            message: `${lab.libvirt.managementNetwork} overlaps ${clash.map((i) => `${i.name} (${i.address}/${i.prefix})`).join(', ')}`,
            fix: 'pass --libvirt-management-network with a /24 no host interface uses',
          },
    ];
  },
};
