#!/usr/bin/env bash
# Proves the Flatcar stand-in image (build-flatcar-standin.sh) on its own, without Vagrant, libvirt
# or cclab: boots a throwaway overlay of it under plain QEMU (TCG, user-mode networking, SSH
# forwarded to 127.0.0.1 only) with a hand-written Ignition 3.3.0 config passed like Flatcar's
# (-fw_cfg name=opt/org.flatcar-linux/config,file=...), then checks over SSH, as core with the key
# the config gave it, that every item took effect:
#   hostname; the key in ~core/.ssh/authorized_keys.d/ignition; a plain file (contents, mode); a
#   gzip-compressed data: file (contents, mode); an enabled unit with a drop-in, running; the lab
#   NIC's networkd file matched by MAC, with its static address on the second NIC; Ignition's own
#   log in the first-boot unit's journal; core's sudo and docker group; no user vagrant and no
#   Vagrant insecure key; then, after a reboot, that Ignition did not run again and the enabled
#   unit came back by itself.
#
#   test/e2e/box/prove-flatcar-standin.sh              build (or reuse) the image, prove it
#   test/e2e/box/prove-flatcar-standin.sh --no-reboot  skip the reboot check
#
# Needs root only to build the image; qemu-system-x86 and openssh-client. Stops its QEMU by PID
# and removes its temp directory whatever happens (set CCLAB_E2E_KEEP=1 to keep the directory).
# Ends with a timing table; exits 0 only when every check passed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REBOOT=1
case "${1:-}" in
  --no-reboot) REBOOT=0 ;;
  "") ;;
  *) echo "usage: prove-flatcar-standin.sh [--no-reboot]" >&2; exit 2 ;;
esac
BOOT_TIMEOUT=${CCLAB_E2E_PROOF_BOOT_SECONDS:-480}
HOSTNAME_WANTED=standin-proof
LAB_MAC=52:54:00:cc:1a:b1
LAB_ADDR=192.168.61.101

now() { date +%s.%N; }
T0=$(now)
TIMES=()
lap_start=$T0
lap() { # lap NAME: records the time since the previous lap
  local t
  t=$(now)
  TIMES+=("$(awk -v a="$lap_start" -v b="$t" -v m="$1" 'BEGIN { printf "%-58s %7.1fs", m, b - a }')")
  echo "prove: [$(awk -v a="$lap_start" -v b="$t" 'BEGIN { printf "%6.1fs", b - a }')] $1" >&2
  lap_start=$t
}
FAILED=0
check() { # check NAME GOT WANT
  if [[ "$2" == "$3" ]]; then
    printf 'ok   %s: %s\n' "$1" "$2"
  else
    printf 'FAIL %s: got %q, wanted %q\n' "$1" "$2" "$3"
    FAILED=1
  fi
}

INSECURE_KEY_BODY=$(awk '{ print $2 }' /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub 2>/dev/null | head -n1)
[[ -n "$INSECURE_KEY_BODY" ]] || { echo "prove: Vagrant's insecure public key (vagrant.pub) not found" >&2; exit 1; }
IMAGE=$(bash "$HERE/build-flatcar-standin.sh")
lap "image build or reuse ($(basename "$IMAGE"))"

TMP=$(mktemp -d /tmp/cclab-flatcar-standin-proof.XXXXXX)
QEMU_PID=
finish() {
  local rc=$?
  set +e
  if [[ -n "$QEMU_PID" ]] && kill -0 "$QEMU_PID" 2>/dev/null; then
    kill "$QEMU_PID"
    for _ in $(seq 50); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$QEMU_PID" 2>/dev/null && kill -9 "$QEMU_PID"
  fi
  if [[ $rc != 0 && -s "$TMP/console.log" ]]; then
    echo "--- last 40 lines of the serial console ($TMP/console.log) ---" >&2
    tail -n 40 "$TMP/console.log" | tr -d '\r' >&2
  fi
  if [[ "${CCLAB_E2E_KEEP:-}" == 1 || $rc != 0 ]]; then
    echo "prove: files kept in $TMP" >&2
  else
    rm -rf "$TMP"
  fi
  exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM

# --- the config: a hostname, core's key, a file, a gzip-compressed file, an enabled unit with a drop-in, the lab NIC ---
ssh-keygen -q -t ed25519 -N '' -C cclab-flatcar-standin-proof -f "$TMP/id_ed25519"
PROOF_TEXT='written by Ignition from a data: URL'
GZ_SCRIPT=$'#!/bin/sh\necho "gzip-compressed data: URL decoded by Ignition"\n'
GZ_B64=$(printf '%s' "$GZ_SCRIPT" | gzip -9n | base64 -w0)
python3 - "$TMP/config.ign" "$(cat "$TMP/id_ed25519.pub")" "$HOSTNAME_WANTED" "$PROOF_TEXT" "$GZ_B64" "$LAB_MAC" "$LAB_ADDR" <<'EOF'
import json, sys, urllib.parse
out, key, hostname, text, gz, mac, addr = sys.argv[1:]
def data(s): return 'data:,' + urllib.parse.quote(s, safe='')
network = f'[Match]\nMACAddress={mac}\n\n[Network]\nAddress={addr}/24\n'
unit = ('[Unit]\nDescription=cclab Flatcar stand-in proof\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\n'
        'ExecStart=/bin/sh -c \'echo "proof=$PROOF $(/opt/bin/cclab-proof-gz)" >/run/cclab-proof.out\'\n\n'
        '[Install]\nWantedBy=multi-user.target\n')
config = {
  'ignition': {'version': '3.3.0'},
  'passwd': {'users': [{'name': 'core', 'sshAuthorizedKeys': [key]}]},
  'storage': {'files': [
    {'path': '/etc/hostname', 'mode': 0o644, 'overwrite': True, 'contents': {'source': data(hostname + '\n')}},
    {'path': '/etc/systemd/network/00-cclab.network', 'mode': 0o644, 'overwrite': True, 'contents': {'source': data(network)}},
    {'path': '/etc/cclab-proof.txt', 'mode': 0o640, 'overwrite': True, 'contents': {'source': data(text + '\n')}},
    {'path': '/opt/bin/cclab-proof-gz', 'mode': 0o755, 'overwrite': True, 'contents': {'compression': 'gzip', 'source': 'data:;base64,' + gz}},
  ]},
  'systemd': {'units': [{'name': 'cclab-proof.service', 'enabled': True, 'contents': unit,
                         'dropins': [{'name': '20-cclab.conf', 'contents': '[Service]\nEnvironment=PROOF=from-the-drop-in\n'}]}]},
}
with open(out, 'w') as f: json.dump(config, f, indent=2); f.write('\n')
EOF
ignition-validate "$TMP/config.ign"
lap "config written, ignition-validate passed"

qemu-img create -q -f qcow2 -F qcow2 -b "$IMAGE" "$TMP/overlay.qcow2"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Management NIC: user-mode networking, SSH forwarded from 127.0.0.1 only. Lab NIC: user-mode with
# restrict=on (no route anywhere), there only to carry the MAC the .network file matches.
qemu-system-x86_64 -machine accel=tcg -m 1024 -smp 1 -nographic -monitor none \
  -serial "file:$TMP/console.log" \
  -drive "file=$TMP/overlay.qcow2,if=virtio" \
  -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:22" -device virtio-net,netdev=n0 \
  -netdev user,id=n1,restrict=on -device "virtio-net,netdev=n1,mac=$LAB_MAC" \
  -fw_cfg "name=opt/org.flatcar-linux/config,file=$TMP/config.ign" \
  </dev/null >"$TMP/qemu.out" 2>&1 &
QEMU_PID=$!
echo "prove: QEMU pid $QEMU_PID, SSH on 127.0.0.1:$PORT, console $TMP/console.log" >&2

SSH=(ssh -q -i "$TMP/id_ed25519" -p "$PORT" -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=5
  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR core@127.0.0.1)
wait_ssh() {
  local deadline=$((SECONDS + BOOT_TIMEOUT))
  until "${SSH[@]}" true 2>/dev/null; do
    kill -0 "$QEMU_PID" 2>/dev/null || { echo "prove: QEMU exited: $(cat "$TMP/qemu.out")" >&2; exit 1; }
    ((SECONDS < deadline)) || { echo "prove: no SSH as core on 127.0.0.1:$PORT after ${BOOT_TIMEOUT}s" >&2; exit 1; }
    sleep 3
  done
}
wait_ssh
lap "first boot: QEMU start to SSH as core with the config's key"

# One SSH session gathers everything; a line per check, "name=value".
remote() {
  "${SSH[@]}" bash -s -- "$INSECURE_KEY_BODY" <<'EOF'
set -u
insecure_key_body=$1
unit_wait() { for _ in $(seq 60); do [ "$(systemctl is-active "$1")" = "$2" ] && break; sleep 2; done; }
unit_wait cclab-proof.service active
for _ in $(seq 60); do ip -4 -o addr show eth1 2>/dev/null | grep -q 192.168.61.101 && break; sleep 2; done
echo "hostname=$(hostname)"
echo "etc_hostname=$(cat /etc/hostname)"
echo "key_file=$(stat -c '%a %U' ~/.ssh/authorized_keys.d/ignition 2>&1)"
echo "authorized_keys=$(test -e ~/.ssh/authorized_keys && echo present || echo absent)"
echo "file=$(sudo stat -c '%a %U:%G' /etc/cclab-proof.txt) $(sudo cat /etc/cclab-proof.txt)"
echo "gz_file=$(stat -c '%a' /opt/bin/cclab-proof-gz) $(/opt/bin/cclab-proof-gz)"
echo "unit=$(systemctl is-enabled cclab-proof.service) $(systemctl is-active cclab-proof.service)"
echo "unit_dropin=$(systemctl show -p DropInPaths --value cclab-proof.service)"
echo "unit_output=$(cat /run/cclab-proof.out 2>&1)"
echo "preset=$(cat /etc/systemd/system-preset/20-ignition.preset 2>&1)"
echo "network_file=$(stat -c '%a' /etc/systemd/network/00-cclab.network 2>&1) $(grep MACAddress /etc/systemd/network/00-cclab.network)"
echo "eth1=$(ip -4 -o addr show eth1 | awk '{print $4}') $(networkctl status eth1 2>/dev/null | awk '/Network File:/ {print $3}')"
echo "eth0=$(networkctl status eth0 2>/dev/null | awk '/Network File:/ {print $3}')"
journal=$(sudo journalctl -b -o cat -u cclab-test-fixture-ignition.service)
echo "ignition_journal=$(for p in 'Stage: fetch' 'fetch: fetch passed' 'Stage: files' 'files: files passed'; do grep -qF "$p" <<<"$journal" && printf '[%s] ' "$p"; done | sed 's/ $//')"
echo "ignition_files_stage=$(grep -c 'files: files passed' <<<"$journal")"
echo "ignition_unit=$(systemctl is-active cclab-test-fixture-ignition.service) $(systemctl show -p ConditionResult --value cclab-test-fixture-ignition.service)"
echo "stamp=$(test -e /var/lib/cclab-test-fixture/ignition-firstboot.done && echo present || echo absent)"
echo "sudo=$(sudo -n true && echo ok)"
echo "groups=$(id -nG | tr ' ' '\n' | grep -xE 'docker|sudo' | sort | tr '\n' ' ' | sed 's/ $//')"
echo "vagrant_user=$(getent passwd vagrant >/dev/null && echo present || echo absent)"
echo "insecure_key=$(sudo grep -rlF "$insecure_key_body" /home /root /etc 2>/dev/null | wc -l)"
echo "flatcar_vagrant=$(test -e /var/lib/flatcar-vagrant && echo present || echo absent)"
echo "failed_units=$(systemctl list-units --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//')"
EOF
}
declare -A R=()
while IFS='=' read -r k v; do [[ -n "$k" ]] && R[$k]=$v; done < <(remote)
lap "checks gathered over SSH"

echo "--- first boot ---"
check hostname "${R[hostname]}" "$HOSTNAME_WANTED"
check /etc/hostname "${R[etc_hostname]}" "$HOSTNAME_WANTED"
check "core's key (authorized_keys.d/ignition)" "${R[key_file]}" "600 core"
check "~core/.ssh/authorized_keys" "${R[authorized_keys]}" "absent"
check "file /etc/cclab-proof.txt" "${R[file]}" "640 root:root $PROOF_TEXT"
check "gzip data: file /opt/bin/cclab-proof-gz" "${R[gz_file]}" "755 gzip-compressed data: URL decoded by Ignition"
check "unit cclab-proof.service" "${R[unit]}" "enabled active"
check "its drop-in" "${R[unit_dropin]}" "/etc/systemd/system/cclab-proof.service.d/20-cclab.conf"
check "its output" "${R[unit_output]}" "proof=from-the-drop-in gzip-compressed data: URL decoded by Ignition"
check "Ignition's preset file" "${R[preset]}" "enable cclab-proof.service"
check "networkd file 00-cclab.network" "${R[network_file]}" "644 MACAddress=$LAB_MAC"
check "lab NIC eth1 (address, .network file)" "${R[eth1]}" "$LAB_ADDR/24 /etc/systemd/network/00-cclab.network"
check "management NIC eth0 (.network file)" "${R[eth0]}" "/etc/systemd/network/10-eth0.network"
check "Ignition's fetch and files stages in the unit's journal" "${R[ignition_journal]}" "[Stage: fetch] [fetch: fetch passed] [Stage: files] [files: files passed]"
check "first-boot unit" "${R[ignition_unit]}" "active yes"
check "stamp" "${R[stamp]}" "present"
check "core: passwordless sudo" "${R[sudo]}" "ok"
check "core: groups" "${R[groups]}" "docker sudo"
check "user vagrant" "${R[vagrant_user]}" "absent"
check "files holding Vagrant's insecure key" "${R[insecure_key]}" "0"
check "/var/lib/flatcar-vagrant" "${R[flatcar_vagrant]}" "absent"
check "failed units" "${R[failed_units]}" ""

if ((REBOOT)); then
  "${SSH[@]}" sudo systemctl --no-block reboot || true
  sleep 5
  wait_ssh
  lap "reboot: to SSH again"
  R=()
  while IFS='=' read -r k v; do [[ -n "$k" ]] && R[$k]=$v; done < <(remote)
  lap "checks gathered over SSH after the reboot"
  echo "--- after a reboot ---"
  check "first-boot unit skipped (stamp)" "${R[ignition_unit]}" "inactive no"
  check "Ignition's files stage in this boot's journal" "${R[ignition_files_stage]}" "0"
  check hostname "${R[hostname]}" "$HOSTNAME_WANTED"
  check "unit cclab-proof.service (enabled, started by the boot itself)" "${R[unit]}" "enabled active"
  check "its output" "${R[unit_output]}" "proof=from-the-drop-in gzip-compressed data: URL decoded by Ignition"
  check "lab NIC eth1" "${R[eth1]}" "$LAB_ADDR/24 /etc/systemd/network/00-cclab.network"
  check "failed units" "${R[failed_units]}" ""
fi

# No clean poweroff (a minute or more under TCG, docker and containerd stopping): the overlay is
# thrown away, so QEMU is simply stopped by its PID.
kill "$QEMU_PID"
for _ in $(seq 50); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 0.2; done
lap "QEMU stopped"
TIMES+=("$(awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "%-58s %7.1fs", "total", b - a }')")
echo "--- timings ---"
printf '%s\n' "${TIMES[@]}"
if ((FAILED)); then
  echo "prove: SOME CHECKS FAILED" >&2
  exit 1
fi
echo "prove: all checks passed"
