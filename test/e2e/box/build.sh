#!/usr/bin/env bash
# Builds the cclab end-to-end TEST box `cclab-test/debian` (provider libvirt)
# from Debian bookworm packages and adds it to the test VAGRANT_HOME.
#
# The box plays Container Linux for cclab's e2e tests: systemd, OpenSSH with
# Vagrant's insecure key for the user `vagrant`, docker.io, etcd, and test
# fixtures (under /usr/local/lib/cclab-test-fixture/) standing in for
# coreos-cloudinit, etcd2.service, etcd-member.service, fleet.service and
# fleetd. It is not part of cclab.
#
# Idempotent and cached: the box file is keyed on a hash of this script and
# every file it installs; a box already built and added for that hash is
# reused. Needs root (loop devices, mount, chroot) and network access to the
# Debian archive.
#
#   test/e2e/box/build.sh            build (or reuse) and add the box
#   test/e2e/box/build.sh --print-id print the cache key and exit
#
# Environment: CCLAB_E2E_CACHE (default test/e2e/.cache), VAGRANT_HOME
# (default $CCLAB_E2E_CACHE/vagrant-home), DEBIAN_MIRROR
# (default http://deb.debian.org/debian).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E=$(dirname "$HERE")
CACHE=${CCLAB_E2E_CACHE:-$E2E/.cache}
export VAGRANT_HOME=${VAGRANT_HOME:-$CACHE/vagrant-home}
export VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_BOX_UPDATE_CHECK_DISABLE=1
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BOX_NAME=cclab-test/debian
SUITE=bookworm
DISK_SIZE_GIB=8

INSECURE_KEY=$(ls /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub 2>/dev/null | head -n1 || true)
[[ -n "$INSECURE_KEY" ]] || { echo "build.sh: Vagrant's insecure public key (vagrant.pub) not found" >&2; exit 1; }

INPUTS=(
  "$HERE/build.sh"
  "$HERE/lib.sh"
  "$HERE/box-Vagrantfile"
  "$HERE/coreos-cloudinit-standin"
  "$HERE/fleetd-standin"
  "$HERE"/units/*
  "$INSECURE_KEY"
)
BOX_ID=$(for f in "${INPUTS[@]}"; do printf '%s\n' "${f#"$HERE"/}"; sha256sum <"$f"; done | sha256sum | cut -c1-16)

if [[ "${1:-}" == "--print-id" ]]; then
  echo "$BOX_ID"
  exit 0
fi

[[ $(id -u) == 0 ]] || { echo "build.sh: must run as root (loop devices, mount, chroot)" >&2; exit 1; }

BOX_DIR=$CACHE/box
BOX_FILE=$BOX_DIR/cclab-test-debian-$BOX_ID.box
ADDED_ID_FILE=$VAGRANT_HOME/boxes/${BOX_NAME//\//-VAGRANTSLASH-}/0/libvirt/cclab-test-box-id
mkdir -p "$BOX_DIR" "$VAGRANT_HOME" "$CACHE/debs"

exec 9>"$BOX_DIR/.lock"
flock 9

SCRIPT=build.sh
# shellcheck source=lib.sh
source "$HERE/lib.sh"

add_box() {
  vagrant box add --force --name "$BOX_NAME" --provider libvirt "$BOX_FILE" >&2
  [[ "$(cat "$ADDED_ID_FILE" 2>/dev/null)" == "$BOX_ID" ]] || { echo "build.sh: box added but $ADDED_ID_FILE does not hold $BOX_ID" >&2; exit 1; }
}

if [[ "$(cat "$ADDED_ID_FILE" 2>/dev/null || true)" == "$BOX_ID" ]]; then
  echo "build.sh: box $BOX_NAME $BOX_ID is up to date in $VAGRANT_HOME" >&2
  exit 0
fi
if [[ -s "$BOX_FILE" ]]; then
  add_box
  step "added cached $BOX_FILE"
  exit 0
fi

WORK=$BOX_DIR/build-$BOX_ID
MNT=$WORK/root
install_cleanup

rm -rf "$WORK"
mkdir -p "$WORK"

# --- disk: one bootable MBR partition, ext4 ---
truncate -s "${DISK_SIZE_GIB}G" "$WORK/disk.raw"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$WORK/disk.raw"
LOOP=$(losetup --find --show --partscan "$WORK/disk.raw")
PART=${LOOP}p1
# No udev here: the partition node may be missing until partx asks the kernel.
[[ -b "$PART" ]] || partx -a "$LOOP" 2>/dev/null || true
for _ in 1 2 3 4 5; do [[ -b "$PART" ]] && break; sleep 0.5; done
[[ -b "$PART" ]] || { echo "build.sh: partition node $PART did not appear" >&2; exit 1; }
mkfs.ext4 -q -L cclab-root "$PART"
ROOT_UUID=$(blkid -s UUID -o value "$PART")
do_mount "$MNT" "$PART"
step "disk image partitioned and formatted ($PART, UUID $ROOT_UUID)"

# --- base system ---
debootstrap --variant=minbase --cache-dir="$CACHE/debs" \
  --include=systemd-sysv,dbus,openssh-server,sudo,ca-certificates,iproute2,procps,kmod,curl,less,netbase,libnss-myhostname,python3,python3-yaml \
  "$SUITE" "$MNT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || { tail -n 30 "$WORK/debootstrap.log" >&2; exit 1; }
step "debootstrap $SUITE"

do_mount "$MNT/proc" -t proc proc
do_mount "$MNT/sys" -t sysfs sysfs
do_mount "$MNT/dev" --bind /dev
do_mount "$MNT/dev/pts" -t devpts devpts
do_mount "$MNT/var/cache/apt/archives" --bind "$CACHE/debs"

cat >"$MNT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
# Nothing starts inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$MNT/usr/sbin/policy-rc.d"
chmod 0755 "$MNT/usr/sbin/policy-rc.d"
cat >"$MNT/etc/fstab" <<EOF
UUID=$ROOT_UUID / ext4 defaults,errors=remount-ro 0 1
EOF
in_chroot '
  echo "grub-pc grub-pc/install_devices multiselect" | debconf-set-selections
  echo "grub-pc grub-pc/install_devices_empty boolean true" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    linux-image-cloud-amd64 grub-pc initramfs-tools \
    docker.io etcd-server etcd-client apparmor iptables >/var/log/cclab-box-apt.log 2>&1 \
    || { tail -n 40 /var/log/cclab-box-apt.log; exit 1; }
'
step "packages installed (kernel, grub, docker.io, etcd, apparmor)"

# --- users, SSH, sudo ---
in_chroot '
  useradd --create-home --shell /bin/bash --user-group --groups sudo,docker vagrant
  useradd -K UID_MIN=500 --create-home --shell /bin/bash --user-group --uid 500 --groups sudo,docker core
  passwd -l vagrant >/dev/null
  passwd -l core >/dev/null
  install -d -m 0700 -o vagrant -g vagrant /home/vagrant/.ssh
'
install -m 0600 "$INSECURE_KEY" "$MNT/home/vagrant/.ssh/authorized_keys"
in_chroot 'chown vagrant:vagrant /home/vagrant/.ssh/authorized_keys'
cat >"$MNT/etc/sudoers.d/cclab-test-box" <<'EOF'
vagrant ALL=(ALL) NOPASSWD: ALL
core ALL=(ALL) NOPASSWD: ALL
Defaults:vagrant !requiretty
EOF
chmod 0440 "$MNT/etc/sudoers.d/cclab-test-box"
cat >"$MNT/etc/ssh/sshd_config.d/10-cclab-test-box.conf" <<'EOF'
# Only the ed25519 host key, generated at first boot.
HostKey /etc/ssh/ssh_host_ed25519_key
UseDNS no
EOF
rm -f "$MNT"/etc/ssh/ssh_host_*

# --- network: systemd-networkd, DHCP on eth0 (Vagrant adds 50-vagrant-eth1.network) ---
cat >"$MNT/etc/systemd/network/10-eth0.network" <<'EOF'
[Match]
Name=eth0

[Network]
DHCP=ipv4
EOF
echo localhost >"$MNT/etc/hostname"
cat >"$MNT/etc/hosts" <<'EOF'
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
EOF
: >"$MNT/etc/resolv.conf"

# --- machine identity: generated at first boot, different on every VM ---
: >"$MNT/etc/machine-id"
mkdir -p "$MNT/var/lib/dbus"
ln -sf /etc/machine-id "$MNT/var/lib/dbus/machine-id"

# --- test fixtures standing in for Container Linux ---
FIX=/usr/local/lib/cclab-test-fixture
install -d "$MNT$FIX"
install -m 0755 "$HERE/coreos-cloudinit-standin" "$MNT$FIX/coreos-cloudinit"
install -m 0755 "$HERE/fleetd-standin" "$MNT$FIX/fleetd"
ln -sf "$FIX/coreos-cloudinit" "$MNT/usr/bin/coreos-cloudinit"
ln -sf "$FIX/fleetd" "$MNT/usr/bin/fleetd"
cat >"$MNT$FIX/README" <<EOF
cclab TEST FIXTURE box $BOX_NAME, build $BOX_ID (test/e2e/box/build.sh).
Debian $SUITE playing Container Linux for cclab's end-to-end tests:
  coreos-cloudinit  stand-in applying Vagrant user-data (/usr/bin/coreos-cloudinit)
  fleetd            stand-in registering the machine in etcd like fleetd 1.0.0 (/usr/bin/fleetd)
  units             etcd2.service, etcd-member.service, fleet.service (/usr/lib/systemd/system)
                    cclab-test-fixture-* (user-data path units, ed25519 host key at first boot)
None of this is Container Linux or part of cclab.
EOF
echo "$BOX_ID" >"$MNT/etc/cclab-test-fixture-box-id"
install -m 0644 "$HERE"/units/* "$MNT/usr/lib/systemd/system/"
mkdir -p "$MNT/usr/share/coreos"
cat >"$MNT/usr/share/coreos/update.conf" <<'EOF'
GROUP=stable
SERVER=https://public.update.flatcar-linux.net/v1/update/
EOF
# On Container Linux these units are not enabled by default: should `systemctl preset` run, they
# stay disabled here too.
cat >"$MNT/usr/lib/systemd/system-preset/10-cclab-test-fixture.preset" <<'EOF'
disable etcd.service
disable etcd2.service
disable etcd-member.service
disable fleet.service
EOF
cat >"$MNT/usr/lib/tmpfiles.d/cclab-test-fixture.conf" <<'EOF'
d /var/lib/coreos-vagrant 0755 root root -
d /var/lib/flatcar-vagrant 0755 root root -
EOF
in_chroot '
  # Debian etcd-server enables etcd.service, which also claims the name etcd2.service (Alias=).
  systemctl disable etcd.service >/dev/null 2>&1
  systemctl mask etcd.service >/dev/null 2>&1
  systemctl enable systemd-networkd.service cclab-test-fixture-ssh-hostkey.service \
    cclab-test-fixture-user-data-coreos.path cclab-test-fixture-user-data-flatcar.path >/dev/null 2>&1
  systemctl disable apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1 || true
  test ! -e /etc/systemd/system/etcd2.service
  systemctl is-enabled docker.service containerd.service systemd-networkd.service ssh.service >/dev/null
  if systemctl is-enabled etcd2.service etcd-member.service fleet.service >/dev/null 2>&1; then echo "stand-in OS units must not be enabled"; exit 1; fi
'
step "users, SSH, network, fixtures configured"

# --- boot: GRUB on the MBR, serial console, predictable names off, root by UUID ---
cat >"$MNT/etc/default/grub" <<'EOF'
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR="cclab-test-box"
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200n8 net.ifnames=0 biosdevname=0"
GRUB_TERMINAL="serial console"
GRUB_SERIAL_COMMAND="serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1"
GRUB_DISABLE_OS_PROBER=true
EOF
in_chroot "
  { grub-install --target=i386-pc --modules='part_msdos ext2' $LOOP && grub-mkconfig -o /boot/grub/grub.cfg; } >/var/log/cclab-box-grub.log 2>&1 \\
    || { tail -n 30 /var/log/cclab-box-grub.log; exit 1; }
"
# Without udev grub-mkconfig cannot see /dev/disk/by-uuid and writes the loop device.
sed -i -E "s#root=/dev/loop[0-9]+p1#root=UUID=$ROOT_UUID#g" "$MNT/boot/grub/grub.cfg"
grep -q "root=UUID=$ROOT_UUID" "$MNT/boot/grub/grub.cfg" || { echo "build.sh: grub.cfg has no root=UUID" >&2; exit 1; }
if grep -q '/dev/loop' "$MNT/boot/grub/grub.cfg"; then echo "build.sh: grub.cfg still names a loop device" >&2; exit 1; fi
step "GRUB installed"

# --- shrink ---
rm -f "$MNT/usr/sbin/policy-rc.d"
umount "$MNT/var/cache/apt/archives"
unset 'MOUNTS[${#MOUNTS[@]}-1]'
rm -rf "$MNT"/var/cache/apt/archives/*.deb "$MNT"/var/cache/apt/*.bin "$MNT"/var/lib/apt/lists/* "$MNT"/var/log/*.log "$MNT"/tmp/* "$MNT"/root/.bash_history
detach_image
step "image finished"

qemu-img convert -c -O qcow2 "$WORK/disk.raw" "$WORK/box.img"
rm -f "$WORK/disk.raw"
step "qcow2 compressed ($(du -h "$WORK/box.img" | cut -f1))"

printf '{"provider":"libvirt","format":"qcow2","virtual_size":%d}\n' "$DISK_SIZE_GIB" >"$WORK/metadata.json"
install -m 0644 "$HERE/box-Vagrantfile" "$WORK/Vagrantfile"
echo "$BOX_ID" >"$WORK/cclab-test-box-id"
tar -C "$WORK" -cf "$BOX_FILE.tmp" metadata.json Vagrantfile cclab-test-box-id box.img
mv "$BOX_FILE.tmp" "$BOX_FILE"
rm -rf "$WORK"
# Older builds of the box are of no further use.
find "$BOX_DIR" -maxdepth 1 -name 'cclab-test-debian-*.box' ! -name "$(basename "$BOX_FILE")" -delete
step "box file $BOX_FILE"

add_box
step "box added as $BOX_NAME in $VAGRANT_HOME"
awk -v a="$T0" -v b="$(now)" -v id="$BOX_ID" 'BEGIN { printf "build.sh: built box %s in %.0fs\n", id, b - a }' >&2
