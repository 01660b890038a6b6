/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`test/commands/doctor-fix.test.ts > TAP > the plan, as printed before anything runs > doctor --fix on Ubuntu through sudo, libvirt missing 1`] = `
Checks for a laptop lab on libvirt (subnet 192.168.59.0/24, box cclab-test/debian):
✓ vagrant: Vagrant 2.3.4
✗ provider libvirt: the Vagrant plugin vagrant-libvirt is not installed
    fix: install vagrant-libvirt (apt-get install vagrant-libvirt, or vagrant plugin install vagrant-libvirt) and make sure libvirtd runs and \`virsh -c qemu:///system version\` answers
✓ subnet free on this host: no host interface overlaps 192.168.59.0/24
✓ libvirt management network: 192.168.121.0/24 is free
✓ docker port 2376: 127.0.0.1:2376 is free for core-01
✓ box cclab-test/debian: installed for libvirt

doctor --fix would run:
  1. sudo apt-get update
       (refresh Debian/Ubuntu's package lists)
  2. sudo apt-get install -y vagrant-libvirt libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils dnsmasq-base
       (install vagrant-libvirt, libvirt-daemon-system, libvirt-clients, qemu-system-x86, qemu-utils, dnsmasq-base)
  3. sudo systemctl enable --now libvirtd
       (start libvirt’s daemon now and at every boot)
  4. sudo usermod --append --groups libvirt ada
       (let ada use libvirt without root)
note: ada is in the libvirt group from the next login on: log out and in again (or run \`newgrp libvirt\`) before \`cclab up\`

`
