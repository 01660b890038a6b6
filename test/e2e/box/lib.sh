# Shared by build.sh and build-flatcar-standin.sh (sourced, not run): timed progress steps, and
# the loop device, mounts and chroot of an image being built, undone by an EXIT trap.
#
# The sourcing script sets SCRIPT (its name, for messages) before sourcing, and WORK (its work
# directory) and MNT (the image's mount point) before calling install_cleanup.

now() { date +%s.%N; }
T0=$(now)
step_start=$T0
step() {
  local t
  t=$(now)
  awk -v a="$step_start" -v b="$t" -v m="$1" -v s="$SCRIPT" 'BEGIN { printf "%s: [%6.1fs] %s\n", s, b - a, m }' >&2
  step_start=$t
}

LOOP=
MOUNTS=()

# The image's package scripts see the host's /dev (bind-mounted for the chroot), and some change it:
# udev's gives /dev/kvm the image's kvm group, a number that names another group on the host (libvirt
# then finds KVM unusable for its QEMU user and probes QEMU again before every domain it starts,
# two minutes each here). The owner, group and mode of every device node are put back on exit.
HOST_DEV=
save_host_dev() {
  HOST_DEV=$(find /dev -maxdepth 2 \( -type c -o -type b \) -printf '%U %G %m %p\n' 2>/dev/null || true)
}
restore_host_dev() {
  local uid gid mode path now
  while read -r uid gid mode path; do
    [[ -n "$path" && -e "$path" ]] || continue
    now=$(stat -c '%u %g %a' "$path") || continue
    if [[ "$now" != "$uid $gid $mode" ]]; then
      echo "$SCRIPT: $path was changed in the chroot ($now); restored to $uid:$gid $mode" >&2
      chown "$uid:$gid" "$path" && chmod "$mode" "$path"
    fi
  done <<<"$HOST_DEV"
}

cleanup() {
  local rc=$?
  set +e
  restore_host_dev
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}"
  done
  if [[ -n "$LOOP" ]]; then
    partx -d "$LOOP" 2>/dev/null
    losetup -d "$LOOP"
  fi
  if [[ $rc != 0 ]]; then
    echo "$SCRIPT: FAILED (exit $rc); work files left in $WORK" >&2
  fi
  exit $rc
}

install_cleanup() {
  save_host_dev
  trap cleanup EXIT
  trap 'exit 130' INT TERM
}

do_mount() { # do_mount TARGET mount-args...
  local target=$1
  shift
  mkdir -p "$target"
  mount "$@" "$target"
  MOUNTS+=("$target")
}

# Unmounts what was mounted under the root, trims the root file system (so the qcow2 compresses
# well), unmounts it and detaches the loop device: the raw disk is then ready to convert.
# `before_trim`, when given, runs between the two unmounts (e.g. removing logs from the root).
detach_image() {
  for ((i = ${#MOUNTS[@]} - 1; i >= 1; i--)); do umount "${MOUNTS[i]}"; done
  MOUNTS=("$MNT")
  if [[ -n "${1:-}" ]]; then "$1"; fi
  fstrim "$MNT" >/dev/null 2>&1 || true
  umount "$MNT"
  MOUNTS=()
  partx -d "$LOOP" 2>/dev/null || true
  losetup -d "$LOOP"
  LOOP=
}

in_chroot() {
  chroot "$MNT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive /bin/bash -euo pipefail -c "$1"
}
