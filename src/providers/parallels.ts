/** Parallels (vagrant-parallels): macOS hosts. */
import type { ProviderRecord } from './types.js';

const PLUGIN = 'vagrant-parallels';

export const parallels: ProviderRecord = {
  name: 'parallels',
  // Like VirtualBox: one machine per process, the rest once the box is imported.
  sharedWorkDone: /^==> [^:]+: Booting VM\.\.\./,
  parallelInOneProcess: false,
  movesTakenPorts: true,
  configDelivery: 'uploaded by a Vagrant file provisioner to /var/lib/flatcar-vagrant/vagrantfile-user-data (coreos-vagrant on CoreOS), applied by the box',
  ignitionUnsupported: 'Flatcar’s parallels box takes Ignition only through a guest property limited to 1024 bytes, too small for a lab machine’s config',
  flatcarBoxJson: 'flatcar_production_vagrant_parallels.json',
  addFlatcarBox: undefined,
  qemuOpensIgnition: false,
  flatcarProvisioning: 'cloud-config',
  async usable(tools) {
    const found = (await tools.plugins()).find((p) => p.name === PLUGIN);
    if (!found) return { ok: false, detail: `the Vagrant plugin ${PLUGIN} is not installed` };
    const out = await tools.run('prlctl', ['--version']);
    return { ok: true, detail: `${PLUGIN} ${found.version}; ${out.trim()}` };
  },
  fix: 'install Parallels Desktop Pro and the plugin: vagrant plugin install vagrant-parallels',
  readsVboxNetworksConf: false,
  subnetChecks: () => [],
  networkChecks: () => [],
};
