#!/usr/bin/env bash
# Builds the cclab end-to-end TEST image that stands in for Flatcar's QEMU image
# (flatcar_production_qemu_image.img) in cclab's libvirt + Ignition path. It is a test fixture,
# not Flatcar and not part of cclab.
#
# Flatcar's QEMU image has no Vagrant OEM: a VM gets its Ignition config (spec 3.x JSON) through
# QEMU's fw_cfg (-fw_cfg name=opt/org.flatcar-linux/config,file=...), and Ignition, in the
# initramfs, provisions everything: the user core and its SSH keys, /etc/hostname, the lab NIC's
# systemd-networkd file, units, files. The real image cannot be downloaded here, so this one is
# derived from the test box cclab-test/debian (test/e2e/box/build.sh; its cached .box is reused,
# its id and contents are left alone) and changed into what cclab may rely on in Flatcar's image:
#
#   - the real Ignition binary, from Debian's `ignition` package (2.14), and the first-boot unit
#     cclab-test-fixture-ignition.service that runs it on the fw_cfg config (flatcar-standin/: why
#     a first-boot unit and not the initramfs is said there and in test/e2e/README.md);
#   - sshd reading ~/.ssh/authorized_keys.d/ignition, where this Ignition writes the keys;
#   - /etc/selinux/config (SELINUX=disabled) and, for Ignition only, a setfiles stand-in: Debian's
#     Ignition relabels what it wrote and fails without them;
#   - no user vagrant and no Vagrant insecure key for anyone: only core (uid 500, passwordless
#     sudo, group docker), reachable with the keys Ignition gives it, as on Flatcar;
#   - no Vagrant user-data path units (Flatcar's QEMU image has no Vagrant OEM, so nothing
#     watches /var/lib/flatcar-vagrant or /var/lib/coreos-vagrant);
#   - the box's preset disabling etcd-member/fleet renamed from 10- to 90-: presets are matched
#     first file name first, and Ignition's 20-ignition.preset must win, as on Flatcar.
# Unchanged from the box: systemd-networkd with DHCP on eth0 (the management network), the
# etcd-member/fleet/fleetd/coreos-cloudinit stand-ins, docker.io, the first-boot SSH host key, the
# empty /etc/machine-id.
#
# Idempotent and cached: the image is keyed on a hash of this script, the files in
# flatcar-standin/, the test box's id and the Ignition package's SHA256. Needs root (loop devices,
# mount, chroot); network access to the Debian archive only to download the ignition package (and
# for build.sh when the test box is not cached yet).
#
#   test/e2e/box/build-flatcar-standin.sh               build (or reuse); prints the image path
#   test/e2e/box/build-flatcar-standin.sh --print-id    print the cache key and exit
#   test/e2e/box/build-flatcar-standin.sh --print-path  print where the image is (or would be)
#
# Output: test/e2e/.cache/box/flatcar-standin-<id>.qcow2 (compressed qcow2, 8 GiB virtual).
# Progress goes to stderr; the image path is the only line on stdout.
# Environment: CCLAB_E2E_CACHE (default test/e2e/.cache), as build.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E=$(dirname "$HERE")
CACHE=${CCLAB_E2E_CACHE:-$E2E/.cache}
BOX_DIR=$CACHE/box
STANDIN=$HERE/flatcar-standin

BASE_ID=$(bash "$HERE/build.sh" --print-id)
BASE_BOX=$BOX_DIR/cclab-test-debian-$BASE_ID.box
INSECURE_KEY=$(ls /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub 2>/dev/null | head -n1 || true)
[[ -n "$INSECURE_KEY" ]] || { echo "build-flatcar-standin.sh: Vagrant's insecure public key (vagrant.pub) not found" >&2; exit 1; }

# The ignition package apt would install here (Debian's archive, the host's package lists).
IGNITION_VERSION=$(apt-cache show --no-all-versions ignition 2>/dev/null | awk '/^Version:/ { print $2; exit }')
IGNITION_SHA256=$(apt-cache show --no-all-versions ignition 2>/dev/null | awk '/^SHA256:/ { print $2; exit }')
[[ -n "$IGNITION_VERSION" && -n "$IGNITION_SHA256" ]] || { echo "build-flatcar-standin.sh: apt knows no ignition package (apt-get update?)" >&2; exit 1; }

STANDIN_ID=$(
  {
    printf 'build-flatcar-standin.sh\n'
    sha256sum <"$HERE/build-flatcar-standin.sh"
    sha256sum <"$HERE/lib.sh"
    (cd "$STANDIN" && find . -type f | LC_ALL=C sort | while read -r f; do printf '%s %s\n' "$f" "$(stat -c %a "$f")"; sha256sum <"$f"; done)
    printf 'base %s\nignition %s %s\n' "$BASE_ID" "$IGNITION_VERSION" "$IGNITION_SHA256"
  } | sha256sum | cut -c1-16
)
IMAGE=$BOX_DIR/flatcar-standin-$STANDIN_ID.qcow2

case "${1:-}" in
  --print-id) echo "$STANDIN_ID"; exit 0 ;;
  --print-path) echo "$IMAGE"; exit 0 ;;
  "") ;;
  *) echo "usage: build-flatcar-standin.sh [--print-id|--print-path]" >&2; exit 2 ;;
esac

[[ $(id -u) == 0 ]] || { echo "build-flatcar-standin.sh: must run as root (loop devices, mount, chroot)" >&2; exit 1; }
mkdir -p "$BOX_DIR" "$CACHE/debs"

# Not build.sh's lock: build.sh may run from here while this one is held.
exec 9>"$BOX_DIR/.lock-flatcar-standin"
flock 9

SCRIPT=build-flatcar-standin.sh
# shellcheck source=lib.sh
source "$HERE/lib.sh"

if [[ -s "$IMAGE" ]]; then
  echo "build-flatcar-standin.sh: image $STANDIN_ID is up to date" >&2
  echo "$IMAGE"
  exit 0
fi

if [[ ! -s "$BASE_BOX" ]]; then
  bash "$HERE/build.sh" >&2
  [[ -s "$BASE_BOX" ]] || { echo "build-flatcar-standin.sh: build.sh did not leave $BASE_BOX" >&2; exit 1; }
  step "test box cclab-test/debian $BASE_ID built"
fi

# The ignition .deb, checked against the archive's SHA256 (cached with the box's packages).
DEB=$(cd "$CACHE/debs" && ls ignition_*_amd64.deb 2>/dev/null | while read -r f; do
  [[ "$(sha256sum <"$f" | cut -d' ' -f1)" == "$IGNITION_SHA256" ]] && echo "$f"; done | head -n1 || true)
if [[ -z "$DEB" ]]; then
  (cd "$CACHE/debs" && apt-get download -q -o APT::Sandbox::User=root "ignition=$IGNITION_VERSION" >&2)
  DEB=$(cd "$CACHE/debs" && ls ignition_*_amd64.deb | while read -r f; do
    [[ "$(sha256sum <"$f" | cut -d' ' -f1)" == "$IGNITION_SHA256" ]] && echo "$f"; done | head -n1 || true)
  [[ -n "$DEB" ]] || { echo "build-flatcar-standin.sh: downloaded ignition $IGNITION_VERSION does not match SHA256 $IGNITION_SHA256" >&2; exit 1; }
  step "downloaded $DEB"
fi

WORK=$BOX_DIR/build-flatcar-standin-$STANDIN_ID
MNT=$WORK/root
install_cleanup

rm -rf "$WORK"
mkdir -p "$WORK"

# --- the test box's disk, as a raw image on a loop device ---
tar -C "$WORK" -xf "$BASE_BOX" box.img
qemu-img convert -O raw "$WORK/box.img" "$WORK/disk.raw"
rm -f "$WORK/box.img"
LOOP=$(losetup --find --show --partscan "$WORK/disk.raw")
PART=${LOOP}p1
# No udev here: the partition node may be missing until partx asks the kernel.
[[ -b "$PART" ]] || partx -a "$LOOP" 2>/dev/null || true
for _ in 1 2 3 4 5; do [[ -b "$PART" ]] && break; sleep 0.5; done
[[ -b "$PART" ]] || { echo "build-flatcar-standin.sh: partition node $PART did not appear" >&2; exit 1; }
do_mount "$MNT" "$PART"
[[ "$(cat "$MNT/etc/cclab-test-fixture-box-id")" == "$BASE_ID" ]] || { echo "build-flatcar-standin.sh: $BASE_BOX does not hold box $BASE_ID" >&2; exit 1; }
do_mount "$MNT/proc" -t proc proc
do_mount "$MNT/sys" -t sysfs sysfs
do_mount "$MNT/dev" --bind /dev
step "test box $BASE_ID unpacked and mounted ($PART)"

# --- Ignition: Debian's package (the binary lives in its dracut module directory) ---
install -m 0644 "$CACHE/debs/$DEB" "$MNT/tmp/$DEB"
in_chroot "dpkg -i /tmp/$DEB >/tmp/dpkg-ignition.log 2>&1 || { cat /tmp/dpkg-ignition.log; exit 1; }; rm -f /tmp/$DEB /tmp/dpkg-ignition.log"
in_chroot '/usr/lib/dracut/modules.d/30ignition/ignition -version' >&2
# qemu_fw_cfg exposes fw_cfg entries under /sys/firmware/qemu_fw_cfg/by_name/.
if ! in_chroot 'k=$(ls /lib/modules); modinfo -k "$k" qemu_fw_cfg >/dev/null 2>&1 || grep -q qemu_fw_cfg "/lib/modules/$k/modules.builtin"'; then
  echo "build-flatcar-standin.sh: the box's kernel has no qemu_fw_cfg module" >&2
  exit 1
fi
step "ignition $IGNITION_VERSION installed"

# --- users: core only, as on Flatcar; nothing of Vagrant's ---
in_chroot '
  userdel --remove vagrant
  if getent passwd vagrant >/dev/null || getent group vagrant >/dev/null; then echo "user/group vagrant still there"; exit 1; fi
  id core | grep -q "(sudo)" && id core | grep -q "(docker)"
'
cat >"$MNT/etc/sudoers.d/cclab-test-box" <<'EOF'
# cclab test fixture (Flatcar stand-in image): core has passwordless sudo, as on Flatcar.
core ALL=(ALL) NOPASSWD: ALL
EOF
chmod 0440 "$MNT/etc/sudoers.d/cclab-test-box"
in_chroot 'visudo -c -q'
cat >"$MNT/etc/ssh/sshd_config.d/20-cclab-test-flatcar-standin.conf" <<'EOF'
# cclab test fixture (Flatcar stand-in image). Debian's Ignition writes passwd.users[].sshAuthorizedKeys
# to ~/.ssh/authorized_keys.d/ignition and nowhere else (Flatcar merges authorized_keys.d/* into
# ~/.ssh/authorized_keys); sshd reads both here.
AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys.d/ignition
EOF
KEY_BODY=$(awk '{ print $2 }' "$INSECURE_KEY")
if grep -rlF "$KEY_BODY" "$MNT/home" "$MNT/root" "$MNT/etc" >&2; then
  echo "build-flatcar-standin.sh: Vagrant's insecure key is still in the image (files above)" >&2
  exit 1
fi
step "user vagrant and the insecure key removed; core keeps sudo and docker; sshd reads authorized_keys.d/ignition"

# --- what Flatcar's QEMU image lacks: the Vagrant OEM ---
in_chroot 'systemctl disable cclab-test-fixture-user-data-coreos.path cclab-test-fixture-user-data-flatcar.path >/dev/null 2>&1'
rm -f "$MNT/usr/lib/systemd/system/cclab-test-fixture-user-data-coreos.path" \
  "$MNT/usr/lib/systemd/system/cclab-test-fixture-user-data-flatcar.path" \
  "$MNT/usr/lib/tmpfiles.d/cclab-test-fixture.conf"
rm -rf "$MNT/var/lib/coreos-vagrant" "$MNT/var/lib/flatcar-vagrant"
if find "$MNT/etc/systemd/system" -name 'cclab-test-fixture-user-data-*' | grep -q .; then
  echo "build-flatcar-standin.sh: a user-data path unit is still enabled" >&2
  exit 1
fi

# --- the first-boot Ignition unit, SELinux bits for Ignition's relabel step ---
FIX=/usr/local/lib/cclab-test-fixture
install -m 0755 "$STANDIN/ignition-firstboot" "$MNT$FIX/ignition-firstboot"
install -d "$MNT$FIX/selinux-standin"
install -m 0755 "$STANDIN/selinux-standin/setfiles" "$MNT$FIX/selinux-standin/setfiles"
install -m 0644 "$STANDIN/cclab-test-fixture-ignition.service" "$MNT/usr/lib/systemd/system/"
install -d "$MNT/etc/selinux"
cat >"$MNT/etc/selinux/config" <<'EOF'
# cclab test fixture (Flatcar stand-in image). Flatcar has SELinux; this image's kernel runs
# without it. Ignition (Debian's build relabels what it writes) reads SELINUXTYPE from here and
# calls setfiles, which for Ignition is /usr/local/lib/cclab-test-fixture/selinux-standin/setfiles.
SELINUX=disabled
SELINUXTYPE=cclab-test-fixture-none
EOF
mv "$MNT/usr/lib/systemd/system-preset/10-cclab-test-fixture.preset" "$MNT/usr/lib/systemd/system-preset/90-cclab-test-fixture.preset"
in_chroot '
  systemctl enable cclab-test-fixture-ignition.service >/dev/null 2>&1
  test -L /etc/systemd/system/sysinit.target.wants/cclab-test-fixture-ignition.service
  # Ignition enables units with a preset file: it must win over the image own "disable" lines.
  install -d /etc/systemd/system-preset
  echo "enable etcd-member.service" >/etc/systemd/system-preset/20-ignition.preset
  systemctl preset etcd-member.service fleet.service >/dev/null 2>&1
  state=$(systemctl is-enabled etcd-member.service fleet.service || true)
  systemctl disable etcd-member.service >/dev/null 2>&1
  rm -rf /etc/systemd/system-preset
  if [ "$state" != "$(printf "enabled\ndisabled")" ]; then echo "a 20-ignition.preset does not win over the image presets: $state"; exit 1; fi
  if systemctl is-enabled etcd-member.service fleet.service etcd2.service >/dev/null 2>&1; then echo "stand-in OS units must not be enabled"; exit 1; fi
'
echo "flatcar-standin $STANDIN_ID (from cclab-test/debian $BASE_ID)" >"$MNT/etc/cclab-test-fixture-box-id"
cat >>"$MNT$FIX/README" <<EOF

Flatcar stand-in image $STANDIN_ID (test/e2e/box/build-flatcar-standin.sh), derived from the box above:
  ignition-firstboot, cclab-test-fixture-ignition.service
                    run Debian's Ignition $IGNITION_VERSION once at first boot on the fw_cfg entry
                    opt/org.flatcar-linux/config, as Flatcar's initramfs would
  selinux-standin/setfiles
                    lets Ignition's relabel step pass (no SELinux here)
  no user vagrant, no Vagrant insecure key, no Vagrant user-data path units.
EOF
step "first-boot Ignition unit installed and enabled; Vagrant OEM stand-ins removed"

# --- shrink and pack ---
remove_scratch() { rm -rf "$MNT"/tmp/* "$MNT"/var/log/*.log; }
detach_image remove_scratch
qemu-img convert -c -O qcow2 "$WORK/disk.raw" "$IMAGE.tmp"
mv "$IMAGE.tmp" "$IMAGE"
rm -rf "$WORK"
# Older builds are of no further use.
find "$BOX_DIR" -maxdepth 1 -name 'flatcar-standin-*.qcow2' ! -name "$(basename "$IMAGE")" -delete
step "qcow2 compressed ($(du -h "$IMAGE" | cut -f1))"
awk -v a="$T0" -v b="$(now)" -v id="$STANDIN_ID" 'BEGIN { printf "build-flatcar-standin.sh: built image %s in %.0fs\n", id, b - a }' >&2
echo "$IMAGE"
