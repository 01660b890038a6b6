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

cleanup() {
  local rc=$?
  set +e
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
