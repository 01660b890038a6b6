/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`test/render/snapshot.test.ts > TAP > bare metal, production × flatcar > user-data/services-01.yaml 1`] = `
#cloud-config
hostname: services-01
write_files:
  - path: /opt/cclab/install-fleetd.sh
    permissions: "0755"
    owner: root
    content: |
      #!/bin/bash
      # Installs fleetd and fleetctl into /opt/bin from the release tarball named by FLEET_URL,
      # checking FLEET_SHA256 when it is set. Run once by fleet-install.service.
      set -euo pipefail
      [ -x /opt/bin/fleetd ] && exit 0
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      curl --fail --silent --show-error --location --retry 5 --output "$tmp/fleet.tar.gz" "$FLEET_URL"
      if [ -n "\${FLEET_SHA256:-}" ]; then
        echo "$FLEET_SHA256  $tmp/fleet.tar.gz" | sha256sum --check --strict -
      fi
      tar -xzf "$tmp/fleet.tar.gz" -C "$tmp"
      for bin in fleetd fleetctl; do
        found=$(find "$tmp" -type f -name "$bin" | head -n 1)
        [ -n "$found" ] || { echo "no $bin in $FLEET_URL" >&2; exit 1; }
        install -D -m 0755 "$found" "/opt/bin/$bin"
      done
coreos:
  units:
    - name: etcd-member.service
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="ETCD_IMAGE_TAG=v3.5.16"
            Environment="ETCD_NAME=services-01"
            Environment="ETCD_ENABLE_V2=true"
            Environment="ETCD_ADVERTISE_CLIENT_URLS=http://10.0.0.101:2379"
            Environment="ETCD_INITIAL_ADVERTISE_PEER_URLS=http://10.0.0.101:2380"
            Environment="ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001"
            Environment="ETCD_LISTEN_PEER_URLS=http://10.0.0.101:2380"
            Environment="ETCD_INITIAL_CLUSTER=services-01=http://10.0.0.101:2380,services-02=http://10.0.0.102:2380,services-03=http://10.0.0.103:2380"
            Environment="ETCD_INITIAL_CLUSTER_STATE=new"
            Environment="ETCD_INITIAL_CLUSTER_TOKEN=cclab-production"
    - name: fleet-install.service
      content: |
        [Unit]
        Description=Install fleetd (fleet is not part of Flatcar)
        Wants=network-online.target
        After=network-online.target
        ConditionPathExists=!/opt/bin/fleetd

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/opt/cclab/install-fleetd.sh
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz"
    - name: fleet.service
      content: |
        [Unit]
        Description=fleet daemon
        Wants=fleet-install.service etcd-member.service
        After=fleet-install.service etcd-member.service

        [Service]
        ExecStart=/opt/bin/fleetd
        Restart=always
        RestartSec=10s

        [Install]
        WantedBy=multi-user.target
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_PUBLIC_IP=10.0.0.101"
            Environment="FLEET_METADATA=role=services"
            Environment="FLEET_ETCD_SERVERS=http://127.0.0.1:2379"
    - name: 00-eth0.network
      runtime: true
      content: |
        [Match]
        Name=eth0

        [Network]
        DNS=10.0.0.2
        Address=10.0.0.101/24
        Gateway=10.0.0.1
  update:
    group: stable
    reboot_strategy: etcd-lock

`

exports[`test/render/snapshot.test.ts > TAP > bare metal, production × flatcar > user-data/services-02.yaml 1`] = `
#cloud-config
hostname: services-02
write_files:
  - path: /opt/cclab/install-fleetd.sh
    permissions: "0755"
    owner: root
    content: |
      #!/bin/bash
      # Installs fleetd and fleetctl into /opt/bin from the release tarball named by FLEET_URL,
      # checking FLEET_SHA256 when it is set. Run once by fleet-install.service.
      set -euo pipefail
      [ -x /opt/bin/fleetd ] && exit 0
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      curl --fail --silent --show-error --location --retry 5 --output "$tmp/fleet.tar.gz" "$FLEET_URL"
      if [ -n "\${FLEET_SHA256:-}" ]; then
        echo "$FLEET_SHA256  $tmp/fleet.tar.gz" | sha256sum --check --strict -
      fi
      tar -xzf "$tmp/fleet.tar.gz" -C "$tmp"
      for bin in fleetd fleetctl; do
        found=$(find "$tmp" -type f -name "$bin" | head -n 1)
        [ -n "$found" ] || { echo "no $bin in $FLEET_URL" >&2; exit 1; }
        install -D -m 0755 "$found" "/opt/bin/$bin"
      done
coreos:
  units:
    - name: etcd-member.service
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="ETCD_IMAGE_TAG=v3.5.16"
            Environment="ETCD_NAME=services-02"
            Environment="ETCD_ENABLE_V2=true"
            Environment="ETCD_ADVERTISE_CLIENT_URLS=http://10.0.0.102:2379"
            Environment="ETCD_INITIAL_ADVERTISE_PEER_URLS=http://10.0.0.102:2380"
            Environment="ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001"
            Environment="ETCD_LISTEN_PEER_URLS=http://10.0.0.102:2380"
            Environment="ETCD_INITIAL_CLUSTER=services-01=http://10.0.0.101:2380,services-02=http://10.0.0.102:2380,services-03=http://10.0.0.103:2380"
            Environment="ETCD_INITIAL_CLUSTER_STATE=new"
            Environment="ETCD_INITIAL_CLUSTER_TOKEN=cclab-production"
    - name: fleet-install.service
      content: |
        [Unit]
        Description=Install fleetd (fleet is not part of Flatcar)
        Wants=network-online.target
        After=network-online.target
        ConditionPathExists=!/opt/bin/fleetd

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/opt/cclab/install-fleetd.sh
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz"
    - name: fleet.service
      content: |
        [Unit]
        Description=fleet daemon
        Wants=fleet-install.service etcd-member.service
        After=fleet-install.service etcd-member.service

        [Service]
        ExecStart=/opt/bin/fleetd
        Restart=always
        RestartSec=10s

        [Install]
        WantedBy=multi-user.target
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_PUBLIC_IP=10.0.0.102"
            Environment="FLEET_METADATA=role=services"
            Environment="FLEET_ETCD_SERVERS=http://127.0.0.1:2379"
    - name: 00-eth0.network
      runtime: true
      content: |
        [Match]
        Name=eth0

        [Network]
        DNS=10.0.0.2
        Address=10.0.0.102/24
        Gateway=10.0.0.1
  update:
    group: stable
    reboot_strategy: etcd-lock

`

exports[`test/render/snapshot.test.ts > TAP > bare metal, production × flatcar > user-data/services-03.yaml 1`] = `
#cloud-config
hostname: services-03
write_files:
  - path: /opt/cclab/install-fleetd.sh
    permissions: "0755"
    owner: root
    content: |
      #!/bin/bash
      # Installs fleetd and fleetctl into /opt/bin from the release tarball named by FLEET_URL,
      # checking FLEET_SHA256 when it is set. Run once by fleet-install.service.
      set -euo pipefail
      [ -x /opt/bin/fleetd ] && exit 0
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      curl --fail --silent --show-error --location --retry 5 --output "$tmp/fleet.tar.gz" "$FLEET_URL"
      if [ -n "\${FLEET_SHA256:-}" ]; then
        echo "$FLEET_SHA256  $tmp/fleet.tar.gz" | sha256sum --check --strict -
      fi
      tar -xzf "$tmp/fleet.tar.gz" -C "$tmp"
      for bin in fleetd fleetctl; do
        found=$(find "$tmp" -type f -name "$bin" | head -n 1)
        [ -n "$found" ] || { echo "no $bin in $FLEET_URL" >&2; exit 1; }
        install -D -m 0755 "$found" "/opt/bin/$bin"
      done
coreos:
  units:
    - name: etcd-member.service
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="ETCD_IMAGE_TAG=v3.5.16"
            Environment="ETCD_NAME=services-03"
            Environment="ETCD_ENABLE_V2=true"
            Environment="ETCD_ADVERTISE_CLIENT_URLS=http://10.0.0.103:2379"
            Environment="ETCD_INITIAL_ADVERTISE_PEER_URLS=http://10.0.0.103:2380"
            Environment="ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001"
            Environment="ETCD_LISTEN_PEER_URLS=http://10.0.0.103:2380"
            Environment="ETCD_INITIAL_CLUSTER=services-01=http://10.0.0.101:2380,services-02=http://10.0.0.102:2380,services-03=http://10.0.0.103:2380"
            Environment="ETCD_INITIAL_CLUSTER_STATE=new"
            Environment="ETCD_INITIAL_CLUSTER_TOKEN=cclab-production"
    - name: fleet-install.service
      content: |
        [Unit]
        Description=Install fleetd (fleet is not part of Flatcar)
        Wants=network-online.target
        After=network-online.target
        ConditionPathExists=!/opt/bin/fleetd

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/opt/cclab/install-fleetd.sh
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz"
    - name: fleet.service
      content: |
        [Unit]
        Description=fleet daemon
        Wants=fleet-install.service etcd-member.service
        After=fleet-install.service etcd-member.service

        [Service]
        ExecStart=/opt/bin/fleetd
        Restart=always
        RestartSec=10s

        [Install]
        WantedBy=multi-user.target
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_PUBLIC_IP=10.0.0.103"
            Environment="FLEET_METADATA=role=services"
            Environment="FLEET_ETCD_SERVERS=http://127.0.0.1:2379"
    - name: 00-eth0.network
      runtime: true
      content: |
        [Match]
        Name=eth0

        [Network]
        DNS=10.0.0.2
        Address=10.0.0.103/24
        Gateway=10.0.0.1
  update:
    group: stable
    reboot_strategy: etcd-lock

`

exports[`test/render/snapshot.test.ts > TAP > bare metal, production × flatcar > user-data/worker-01.yaml 1`] = `
#cloud-config
hostname: worker-01
write_files:
  - path: /opt/cclab/install-fleetd.sh
    permissions: "0755"
    owner: root
    content: |
      #!/bin/bash
      # Installs fleetd and fleetctl into /opt/bin from the release tarball named by FLEET_URL,
      # checking FLEET_SHA256 when it is set. Run once by fleet-install.service.
      set -euo pipefail
      [ -x /opt/bin/fleetd ] && exit 0
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      curl --fail --silent --show-error --location --retry 5 --output "$tmp/fleet.tar.gz" "$FLEET_URL"
      if [ -n "\${FLEET_SHA256:-}" ]; then
        echo "$FLEET_SHA256  $tmp/fleet.tar.gz" | sha256sum --check --strict -
      fi
      tar -xzf "$tmp/fleet.tar.gz" -C "$tmp"
      for bin in fleetd fleetctl; do
        found=$(find "$tmp" -type f -name "$bin" | head -n 1)
        [ -n "$found" ] || { echo "no $bin in $FLEET_URL" >&2; exit 1; }
        install -D -m 0755 "$found" "/opt/bin/$bin"
      done
coreos:
  units:
    - name: etcd-member.service
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="ETCD_IMAGE_TAG=v3.5.16"
            Environment="ETCD_NAME=worker-01"
            Environment="ETCD_ENABLE_V2=true"
            Environment="ETCD_PROXY=on"
            Environment="ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001"
            Environment="ETCD_INITIAL_CLUSTER=services-01=http://10.0.0.101:2380,services-02=http://10.0.0.102:2380,services-03=http://10.0.0.103:2380"
    - name: fleet-install.service
      content: |
        [Unit]
        Description=Install fleetd (fleet is not part of Flatcar)
        Wants=network-online.target
        After=network-online.target
        ConditionPathExists=!/opt/bin/fleetd

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/opt/cclab/install-fleetd.sh
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz"
    - name: fleet.service
      content: |
        [Unit]
        Description=fleet daemon
        Wants=fleet-install.service etcd-member.service
        After=fleet-install.service etcd-member.service

        [Service]
        ExecStart=/opt/bin/fleetd
        Restart=always
        RestartSec=10s

        [Install]
        WantedBy=multi-user.target
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_PUBLIC_IP=10.0.0.104"
            Environment="FLEET_METADATA=role=worker"
            Environment="FLEET_ETCD_SERVERS=http://127.0.0.1:2379"
    - name: 00-eth0.network
      runtime: true
      content: |
        [Match]
        Name=eth0

        [Network]
        DNS=10.0.0.2
        Address=10.0.0.104/24
        Gateway=10.0.0.1
  update:
    group: stable
    reboot_strategy: etcd-lock
  locksmith:
    endpoint: http://10.0.0.101:2379,http://10.0.0.102:2379,http://10.0.0.103:2379

`

exports[`test/render/snapshot.test.ts > TAP > bare metal, production × flatcar > user-data/worker-02.yaml 1`] = `
#cloud-config
hostname: worker-02
write_files:
  - path: /opt/cclab/install-fleetd.sh
    permissions: "0755"
    owner: root
    content: |
      #!/bin/bash
      # Installs fleetd and fleetctl into /opt/bin from the release tarball named by FLEET_URL,
      # checking FLEET_SHA256 when it is set. Run once by fleet-install.service.
      set -euo pipefail
      [ -x /opt/bin/fleetd ] && exit 0
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      curl --fail --silent --show-error --location --retry 5 --output "$tmp/fleet.tar.gz" "$FLEET_URL"
      if [ -n "\${FLEET_SHA256:-}" ]; then
        echo "$FLEET_SHA256  $tmp/fleet.tar.gz" | sha256sum --check --strict -
      fi
      tar -xzf "$tmp/fleet.tar.gz" -C "$tmp"
      for bin in fleetd fleetctl; do
        found=$(find "$tmp" -type f -name "$bin" | head -n 1)
        [ -n "$found" ] || { echo "no $bin in $FLEET_URL" >&2; exit 1; }
        install -D -m 0755 "$found" "/opt/bin/$bin"
      done
coreos:
  units:
    - name: etcd-member.service
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="ETCD_IMAGE_TAG=v3.5.16"
            Environment="ETCD_NAME=worker-02"
            Environment="ETCD_ENABLE_V2=true"
            Environment="ETCD_PROXY=on"
            Environment="ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001"
            Environment="ETCD_INITIAL_CLUSTER=services-01=http://10.0.0.101:2380,services-02=http://10.0.0.102:2380,services-03=http://10.0.0.103:2380"
    - name: fleet-install.service
      content: |
        [Unit]
        Description=Install fleetd (fleet is not part of Flatcar)
        Wants=network-online.target
        After=network-online.target
        ConditionPathExists=!/opt/bin/fleetd

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/opt/cclab/install-fleetd.sh
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz"
    - name: fleet.service
      content: |
        [Unit]
        Description=fleet daemon
        Wants=fleet-install.service etcd-member.service
        After=fleet-install.service etcd-member.service

        [Service]
        ExecStart=/opt/bin/fleetd
        Restart=always
        RestartSec=10s

        [Install]
        WantedBy=multi-user.target
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_PUBLIC_IP=10.0.0.105"
            Environment="FLEET_METADATA=role=worker"
            Environment="FLEET_ETCD_SERVERS=http://127.0.0.1:2379"
    - name: 00-eth0.network
      runtime: true
      content: |
        [Match]
        Name=eth0

        [Network]
        DNS=10.0.0.2
        Address=10.0.0.105/24
        Gateway=10.0.0.1
  update:
    group: stable
    reboot_strategy: etcd-lock
  locksmith:
    endpoint: http://10.0.0.101:2379,http://10.0.0.102:2379,http://10.0.0.103:2379

`

exports[`test/render/snapshot.test.ts > TAP > bare metal, production × flatcar, Ignition > ignition/services-01.ign 1`] = `
{
  "ignition": {
    "version": "3.3.0"
  },
  "passwd": {
    "users": [
      {
        "name": "core",
        "sshAuthorizedKeys": [
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILEUdU7QJvYg+pGclw5oIsHYFs6LQz1j3RLbWgECQ83x cclab lab test"
        ]
      }
    ]
  },
  "storage": {
    "files": [
      {
        "path": "/etc/hostname",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:,services-01%0A"
        }
      },
      {
        "path": "/etc/systemd/network/00-cclab.network",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:,%5BMatch%5D%0AMACAddress%3D52%3A54%3A00%3A00%3A01%3A01%0A%0A%5BNetwork%5D%0ADNS%3D10.0.0.2%0AAddress%3D10.0.0.101%2F24%0AGateway%3D10.0.0.1%0A"
        }
      },
      {
        "path": "/opt/cclab/install-fleetd.sh",
        "mode": 493,
        "overwrite": true,
        "contents": {
          "source": "data:;base64,IyEvYmluL2Jhc2gKIyBJbnN0YWxscyBmbGVldGQgYW5kIGZsZWV0Y3RsIGludG8gL29wdC9iaW4gZnJvbSB0aGUgcmVsZWFzZSB0YXJiYWxsIG5hbWVkIGJ5IEZMRUVUX1VSTCwKIyBjaGVja2luZyBGTEVFVF9TSEEyNTYgd2hlbiBpdCBpcyBzZXQuIFJ1biBvbmNlIGJ5IGZsZWV0LWluc3RhbGwuc2VydmljZS4Kc2V0IC1ldW8gcGlwZWZhaWwKWyAteCAvb3B0L2Jpbi9mbGVldGQgXSAmJiBleGl0IDAKdG1wPSQobWt0ZW1wIC1kKQp0cmFwICdybSAtcmYgIiR0bXAiJyBFWElUCmN1cmwgLS1mYWlsIC0tc2lsZW50IC0tc2hvdy1lcnJvciAtLWxvY2F0aW9uIC0tcmV0cnkgNSAtLW91dHB1dCAiJHRtcC9mbGVldC50YXIuZ3oiICIkRkxFRVRfVVJMIgppZiBbIC1uICIke0ZMRUVUX1NIQTI1NjotfSIgXTsgdGhlbgogIGVjaG8gIiRGTEVFVF9TSEEyNTYgICR0bXAvZmxlZXQudGFyLmd6IiB8IHNoYTI1NnN1bSAtLWNoZWNrIC0tc3RyaWN0IC0KZmkKdGFyIC14emYgIiR0bXAvZmxlZXQudGFyLmd6IiAtQyAiJHRtcCIKZm9yIGJpbiBpbiBmbGVldGQgZmxlZXRjdGw7IGRvCiAgZm91bmQ9JChmaW5kICIkdG1wIiAtdHlwZSBmIC1uYW1lICIkYmluIiB8IGhlYWQgLW4gMSkKICBbIC1uICIkZm91bmQiIF0gfHwgeyBlY2hvICJubyAkYmluIGluICRGTEVFVF9VUkwiID4mMjsgZXhpdCAxOyB9CiAgaW5zdGFsbCAtRCAtbSAwNzU1ICIkZm91bmQiICIvb3B0L2Jpbi8kYmluIgpkb25lCg=="
        }
      },
      {
        "path": "/etc/flatcar/update.conf",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:,GROUP%3Dstable%0AREBOOT_STRATEGY%3Detcd-lock%0A"
        }
      }
    ]
  },
  "systemd": {
    "units": [
      {
        "name": "etcd-member.service",
        "enabled": true,
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"ETCD_IMAGE_TAG=v3.5.16\\"\\nEnvironment=\\"ETCD_NAME=services-01\\"\\nEnvironment=\\"ETCD_ENABLE_V2=true\\"\\nEnvironment=\\"ETCD_ADVERTISE_CLIENT_URLS=http://10.0.0.101:2379\\"\\nEnvironment=\\"ETCD_INITIAL_ADVERTISE_PEER_URLS=http://10.0.0.101:2380\\"\\nEnvironment=\\"ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001\\"\\nEnvironment=\\"ETCD_LISTEN_PEER_URLS=http://10.0.0.101:2380\\"\\nEnvironment=\\"ETCD_INITIAL_CLUSTER=services-01=http://10.0.0.101:2380,services-02=http://10.0.0.102:2380,services-03=http://10.0.0.103:2380\\"\\nEnvironment=\\"ETCD_INITIAL_CLUSTER_STATE=new\\"\\nEnvironment=\\"ETCD_INITIAL_CLUSTER_TOKEN=cclab-production\\"\\n"
          }
        ]
      },
      {
        "name": "fleet-install.service",
        "contents": "[Unit]\\nDescription=Install fleetd (fleet is not part of Flatcar)\\nWants=network-online.target\\nAfter=network-online.target\\nConditionPathExists=!/opt/bin/fleetd\\n\\n[Service]\\nType=oneshot\\nRemainAfterExit=yes\\nExecStart=/opt/cclab/install-fleetd.sh\\n",
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz\\"\\n"
          }
        ]
      },
      {
        "name": "fleet.service",
        "enabled": true,
        "contents": "[Unit]\\nDescription=fleet daemon\\nWants=fleet-install.service etcd-member.service\\nAfter=fleet-install.service etcd-member.service\\n\\n[Service]\\nExecStart=/opt/bin/fleetd\\nRestart=always\\nRestartSec=10s\\n\\n[Install]\\nWantedBy=multi-user.target\\n",
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"FLEET_PUBLIC_IP=10.0.0.101\\"\\nEnvironment=\\"FLEET_METADATA=role=services\\"\\nEnvironment=\\"FLEET_ETCD_SERVERS=http://127.0.0.1:2379\\"\\n"
          }
        ]
      }
    ]
  }
}

`

exports[`test/render/snapshot.test.ts > TAP > bare metal, production × flatcar, Ignition > ignition/services-02.ign 1`] = `
{
  "ignition": {
    "version": "3.3.0"
  },
  "passwd": {
    "users": [
      {
        "name": "core",
        "sshAuthorizedKeys": [
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILEUdU7QJvYg+pGclw5oIsHYFs6LQz1j3RLbWgECQ83x cclab lab test"
        ]
      }
    ]
  },
  "storage": {
    "files": [
      {
        "path": "/etc/hostname",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:,services-02%0A"
        }
      },
      {
        "path": "/etc/systemd/network/00-cclab.network",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:,%5BMatch%5D%0AMACAddress%3D52%3A54%3A00%3A00%3A01%3A02%0A%0A%5BNetwork%5D%0ADNS%3D10.0.0.2%0AAddress%3D10.0.0.102%2F24%0AGateway%3D10.0.0.1%0A"
        }
      },
      {
        "path": "/opt/cclab/install-fleetd.sh",
        "mode": 493,
        "overwrite": true,
        "contents": {
          "source": "data:;base64,IyEvYmluL2Jhc2gKIyBJbnN0YWxscyBmbGVldGQgYW5kIGZsZWV0Y3RsIGludG8gL29wdC9iaW4gZnJvbSB0aGUgcmVsZWFzZSB0YXJiYWxsIG5hbWVkIGJ5IEZMRUVUX1VSTCwKIyBjaGVja2luZyBGTEVFVF9TSEEyNTYgd2hlbiBpdCBpcyBzZXQuIFJ1biBvbmNlIGJ5IGZsZWV0LWluc3RhbGwuc2VydmljZS4Kc2V0IC1ldW8gcGlwZWZhaWwKWyAteCAvb3B0L2Jpbi9mbGVldGQgXSAmJiBleGl0IDAKdG1wPSQobWt0ZW1wIC1kKQp0cmFwICdybSAtcmYgIiR0bXAiJyBFWElUCmN1cmwgLS1mYWlsIC0tc2lsZW50IC0tc2hvdy1lcnJvciAtLWxvY2F0aW9uIC0tcmV0cnkgNSAtLW91dHB1dCAiJHRtcC9mbGVldC50YXIuZ3oiICIkRkxFRVRfVVJMIgppZiBbIC1uICIke0ZMRUVUX1NIQTI1NjotfSIgXTsgdGhlbgogIGVjaG8gIiRGTEVFVF9TSEEyNTYgICR0bXAvZmxlZXQudGFyLmd6IiB8IHNoYTI1NnN1bSAtLWNoZWNrIC0tc3RyaWN0IC0KZmkKdGFyIC14emYgIiR0bXAvZmxlZXQudGFyLmd6IiAtQyAiJHRtcCIKZm9yIGJpbiBpbiBmbGVldGQgZmxlZXRjdGw7IGRvCiAgZm91bmQ9JChmaW5kICIkdG1wIiAtdHlwZSBmIC1uYW1lICIkYmluIiB8IGhlYWQgLW4gMSkKICBbIC1uICIkZm91bmQiIF0gfHwgeyBlY2hvICJubyAkYmluIGluICRGTEVFVF9VUkwiID4mMjsgZXhpdCAxOyB9CiAgaW5zdGFsbCAtRCAtbSAwNzU1ICIkZm91bmQiICIvb3B0L2Jpbi8kYmluIgpkb25lCg=="
        }
      },
      {
        "path": "/etc/flatcar/update.conf",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:,GROUP%3Dstable%0AREBOOT_STRATEGY%3Detcd-lock%0A"
        }
      }
    ]
  },
  "systemd": {
    "units": [
      {
        "name": "etcd-member.service",
        "enabled": true,
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"ETCD_IMAGE_TAG=v3.5.16\\"\\nEnvironment=\\"ETCD_NAME=services-02\\"\\nEnvironment=\\"ETCD_ENABLE_V2=true\\"\\nEnvironment=\\"ETCD_ADVERTISE_CLIENT_URLS=http://10.0.0.102:2379\\"\\nEnvironment=\\"ETCD_INITIAL_ADVERTISE_PEER_URLS=http://10.0.0.102:2380\\"\\nEnvironment=\\"ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001\\"\\nEnvironment=\\"ETCD_LISTEN_PEER_URLS=http://10.0.0.102:2380\\"\\nEnvironment=\\"ETCD_INITIAL_CLUSTER=services-01=http://10.0.0.101:2380,services-02=http://10.0.0.102:2380,services-03=http://10.0.0.103:2380\\"\\nEnvironment=\\"ETCD_INITIAL_CLUSTER_STATE=new\\"\\nEnvironment=\\"ETCD_INITIAL_CLUSTER_TOKEN=cclab-production\\"\\n"
          }
        ]
      },
      {
        "name": "fleet-install.service",
        "contents": "[Unit]\\nDescription=Install fleetd (fleet is not part of Flatcar)\\nWants=network-online.target\\nAfter=network-online.target\\nConditionPathExists=!/opt/bin/fleetd\\n\\n[Service]\\nType=oneshot\\nRemainAfterExit=yes\\nExecStart=/opt/cclab/install-fleetd.sh\\n",
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz\\"\\n"
          }
        ]
      },
      {
        "name": "fleet.service",
        "enabled": true,
        "contents": "[Unit]\\nDescription=fleet daemon\\nWants=fleet-install.service etcd-member.service\\nAfter=fleet-install.service etcd-member.service\\n\\n[Service]\\nExecStart=/opt/bin/fleetd\\nRestart=always\\nRestartSec=10s\\n\\n[Install]\\nWantedBy=multi-user.target\\n",
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"FLEET_PUBLIC_IP=10.0.0.102\\"\\nEnvironment=\\"FLEET_METADATA=role=services\\"\\nEnvironment=\\"FLEET_ETCD_SERVERS=http://127.0.0.1:2379\\"\\n"
          }
        ]
      }
    ]
  }
}

`

exports[`test/render/snapshot.test.ts > TAP > bare metal, production × flatcar, Ignition > ignition/services-03.ign 1`] = `
{
  "ignition": {
    "version": "3.3.0"
  },
  "passwd": {
    "users": [
      {
        "name": "core",
        "sshAuthorizedKeys": [
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILEUdU7QJvYg+pGclw5oIsHYFs6LQz1j3RLbWgECQ83x cclab lab test"
        ]
      }
    ]
  },
  "storage": {
    "files": [
      {
        "path": "/etc/hostname",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:,services-03%0A"
        }
      },
      {
        "path": "/etc/systemd/network/00-cclab.network",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:,%5BMatch%5D%0AMACAddress%3D52%3A54%3A00%3A00%3A01%3A03%0A%0A%5BNetwork%5D%0ADNS%3D10.0.0.2%0AAddress%3D10.0.0.103%2F24%0AGateway%3D10.0.0.1%0A"
        }
      },
      {
        "path": "/opt/cclab/install-fleetd.sh",
        "mode": 493,
        "overwrite": true,
        "contents": {
          "source": "data:;base64,IyEvYmluL2Jhc2gKIyBJbnN0YWxscyBmbGVldGQgYW5kIGZsZWV0Y3RsIGludG8gL29wdC9iaW4gZnJvbSB0aGUgcmVsZWFzZSB0YXJiYWxsIG5hbWVkIGJ5IEZMRUVUX1VSTCwKIyBjaGVja2luZyBGTEVFVF9TSEEyNTYgd2hlbiBpdCBpcyBzZXQuIFJ1biBvbmNlIGJ5IGZsZWV0LWluc3RhbGwuc2VydmljZS4Kc2V0IC1ldW8gcGlwZWZhaWwKWyAteCAvb3B0L2Jpbi9mbGVldGQgXSAmJiBleGl0IDAKdG1wPSQobWt0ZW1wIC1kKQp0cmFwICdybSAtcmYgIiR0bXAiJyBFWElUCmN1cmwgLS1mYWlsIC0tc2lsZW50IC0tc2hvdy1lcnJvciAtLWxvY2F0aW9uIC0tcmV0cnkgNSAtLW91dHB1dCAiJHRtcC9mbGVldC50YXIuZ3oiICIkRkxFRVRfVVJMIgppZiBbIC1uICIke0ZMRUVUX1NIQTI1NjotfSIgXTsgdGhlbgogIGVjaG8gIiRGTEVFVF9TSEEyNTYgICR0bXAvZmxlZXQudGFyLmd6IiB8IHNoYTI1NnN1bSAtLWNoZWNrIC0tc3RyaWN0IC0KZmkKdGFyIC14emYgIiR0bXAvZmxlZXQudGFyLmd6IiAtQyAiJHRtcCIKZm9yIGJpbiBpbiBmbGVldGQgZmxlZXRjdGw7IGRvCiAgZm91bmQ9JChmaW5kICIkdG1wIiAtdHlwZSBmIC1uYW1lICIkYmluIiB8IGhlYWQgLW4gMSkKICBbIC1uICIkZm91bmQiIF0gfHwgeyBlY2hvICJubyAkYmluIGluICRGTEVFVF9VUkwiID4mMjsgZXhpdCAxOyB9CiAgaW5zdGFsbCAtRCAtbSAwNzU1ICIkZm91bmQiICIvb3B0L2Jpbi8kYmluIgpkb25lCg=="
        }
      },
      {
        "path": "/etc/flatcar/update.conf",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:,GROUP%3Dstable%0AREBOOT_STRATEGY%3Detcd-lock%0A"
        }
      }
    ]
  },
  "systemd": {
    "units": [
      {
        "name": "etcd-member.service",
        "enabled": true,
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"ETCD_IMAGE_TAG=v3.5.16\\"\\nEnvironment=\\"ETCD_NAME=services-03\\"\\nEnvironment=\\"ETCD_ENABLE_V2=true\\"\\nEnvironment=\\"ETCD_ADVERTISE_CLIENT_URLS=http://10.0.0.103:2379\\"\\nEnvironment=\\"ETCD_INITIAL_ADVERTISE_PEER_URLS=http://10.0.0.103:2380\\"\\nEnvironment=\\"ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001\\"\\nEnvironment=\\"ETCD_LISTEN_PEER_URLS=http://10.0.0.103:2380\\"\\nEnvironment=\\"ETCD_INITIAL_CLUSTER=services-01=http://10.0.0.101:2380,services-02=http://10.0.0.102:2380,services-03=http://10.0.0.103:2380\\"\\nEnvironment=\\"ETCD_INITIAL_CLUSTER_STATE=new\\"\\nEnvironment=\\"ETCD_INITIAL_CLUSTER_TOKEN=cclab-production\\"\\n"
          }
        ]
      },
      {
        "name": "fleet-install.service",
        "contents": "[Unit]\\nDescription=Install fleetd (fleet is not part of Flatcar)\\nWants=network-online.target\\nAfter=network-online.target\\nConditionPathExists=!/opt/bin/fleetd\\n\\n[Service]\\nType=oneshot\\nRemainAfterExit=yes\\nExecStart=/opt/cclab/install-fleetd.sh\\n",
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz\\"\\n"
          }
        ]
      },
      {
        "name": "fleet.service",
        "enabled": true,
        "contents": "[Unit]\\nDescription=fleet daemon\\nWants=fleet-install.service etcd-member.service\\nAfter=fleet-install.service etcd-member.service\\n\\n[Service]\\nExecStart=/opt/bin/fleetd\\nRestart=always\\nRestartSec=10s\\n\\n[Install]\\nWantedBy=multi-user.target\\n",
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"FLEET_PUBLIC_IP=10.0.0.103\\"\\nEnvironment=\\"FLEET_METADATA=role=services\\"\\nEnvironment=\\"FLEET_ETCD_SERVERS=http://127.0.0.1:2379\\"\\n"
          }
        ]
      }
    ]
  }
}

`

exports[`test/render/snapshot.test.ts > TAP > bare metal, production × flatcar, Ignition > ignition/worker-01.ign 1`] = `
{
  "ignition": {
    "version": "3.3.0"
  },
  "passwd": {
    "users": [
      {
        "name": "core",
        "sshAuthorizedKeys": [
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILEUdU7QJvYg+pGclw5oIsHYFs6LQz1j3RLbWgECQ83x cclab lab test"
        ]
      }
    ]
  },
  "storage": {
    "files": [
      {
        "path": "/etc/hostname",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:,worker-01%0A"
        }
      },
      {
        "path": "/etc/systemd/network/00-cclab.network",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:,%5BMatch%5D%0AMACAddress%3D52%3A54%3A00%3A00%3A02%3A01%0A%0A%5BNetwork%5D%0ADNS%3D10.0.0.2%0AAddress%3D10.0.0.104%2F24%0AGateway%3D10.0.0.1%0A"
        }
      },
      {
        "path": "/opt/cclab/install-fleetd.sh",
        "mode": 493,
        "overwrite": true,
        "contents": {
          "source": "data:;base64,IyEvYmluL2Jhc2gKIyBJbnN0YWxscyBmbGVldGQgYW5kIGZsZWV0Y3RsIGludG8gL29wdC9iaW4gZnJvbSB0aGUgcmVsZWFzZSB0YXJiYWxsIG5hbWVkIGJ5IEZMRUVUX1VSTCwKIyBjaGVja2luZyBGTEVFVF9TSEEyNTYgd2hlbiBpdCBpcyBzZXQuIFJ1biBvbmNlIGJ5IGZsZWV0LWluc3RhbGwuc2VydmljZS4Kc2V0IC1ldW8gcGlwZWZhaWwKWyAteCAvb3B0L2Jpbi9mbGVldGQgXSAmJiBleGl0IDAKdG1wPSQobWt0ZW1wIC1kKQp0cmFwICdybSAtcmYgIiR0bXAiJyBFWElUCmN1cmwgLS1mYWlsIC0tc2lsZW50IC0tc2hvdy1lcnJvciAtLWxvY2F0aW9uIC0tcmV0cnkgNSAtLW91dHB1dCAiJHRtcC9mbGVldC50YXIuZ3oiICIkRkxFRVRfVVJMIgppZiBbIC1uICIke0ZMRUVUX1NIQTI1NjotfSIgXTsgdGhlbgogIGVjaG8gIiRGTEVFVF9TSEEyNTYgICR0bXAvZmxlZXQudGFyLmd6IiB8IHNoYTI1NnN1bSAtLWNoZWNrIC0tc3RyaWN0IC0KZmkKdGFyIC14emYgIiR0bXAvZmxlZXQudGFyLmd6IiAtQyAiJHRtcCIKZm9yIGJpbiBpbiBmbGVldGQgZmxlZXRjdGw7IGRvCiAgZm91bmQ9JChmaW5kICIkdG1wIiAtdHlwZSBmIC1uYW1lICIkYmluIiB8IGhlYWQgLW4gMSkKICBbIC1uICIkZm91bmQiIF0gfHwgeyBlY2hvICJubyAkYmluIGluICRGTEVFVF9VUkwiID4mMjsgZXhpdCAxOyB9CiAgaW5zdGFsbCAtRCAtbSAwNzU1ICIkZm91bmQiICIvb3B0L2Jpbi8kYmluIgpkb25lCg=="
        }
      },
      {
        "path": "/etc/flatcar/update.conf",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:,GROUP%3Dstable%0AREBOOT_STRATEGY%3Detcd-lock%0A"
        }
      }
    ]
  },
  "systemd": {
    "units": [
      {
        "name": "etcd-member.service",
        "enabled": true,
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"ETCD_IMAGE_TAG=v3.5.16\\"\\nEnvironment=\\"ETCD_NAME=worker-01\\"\\nEnvironment=\\"ETCD_ENABLE_V2=true\\"\\nEnvironment=\\"ETCD_PROXY=on\\"\\nEnvironment=\\"ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001\\"\\nEnvironment=\\"ETCD_INITIAL_CLUSTER=services-01=http://10.0.0.101:2380,services-02=http://10.0.0.102:2380,services-03=http://10.0.0.103:2380\\"\\n"
          }
        ]
      },
      {
        "name": "fleet-install.service",
        "contents": "[Unit]\\nDescription=Install fleetd (fleet is not part of Flatcar)\\nWants=network-online.target\\nAfter=network-online.target\\nConditionPathExists=!/opt/bin/fleetd\\n\\n[Service]\\nType=oneshot\\nRemainAfterExit=yes\\nExecStart=/opt/cclab/install-fleetd.sh\\n",
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz\\"\\n"
          }
        ]
      },
      {
        "name": "fleet.service",
        "enabled": true,
        "contents": "[Unit]\\nDescription=fleet daemon\\nWants=fleet-install.service etcd-member.service\\nAfter=fleet-install.service etcd-member.service\\n\\n[Service]\\nExecStart=/opt/bin/fleetd\\nRestart=always\\nRestartSec=10s\\n\\n[Install]\\nWantedBy=multi-user.target\\n",
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"FLEET_PUBLIC_IP=10.0.0.104\\"\\nEnvironment=\\"FLEET_METADATA=role=worker\\"\\nEnvironment=\\"FLEET_ETCD_SERVERS=http://127.0.0.1:2379\\"\\n"
          }
        ]
      },
      {
        "name": "locksmithd.service",
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"LOCKSMITHD_ENDPOINT=http://10.0.0.101:2379,http://10.0.0.102:2379,http://10.0.0.103:2379\\"\\n"
          }
        ]
      }
    ]
  }
}

`

exports[`test/render/snapshot.test.ts > TAP > bare metal, production × flatcar, Ignition > ignition/worker-02.ign 1`] = `
{
  "ignition": {
    "version": "3.3.0"
  },
  "passwd": {
    "users": [
      {
        "name": "core",
        "sshAuthorizedKeys": [
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILEUdU7QJvYg+pGclw5oIsHYFs6LQz1j3RLbWgECQ83x cclab lab test"
        ]
      }
    ]
  },
  "storage": {
    "files": [
      {
        "path": "/etc/hostname",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:,worker-02%0A"
        }
      },
      {
        "path": "/etc/systemd/network/00-cclab.network",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:,%5BMatch%5D%0AName%3Deth0%0A%0A%5BNetwork%5D%0ADNS%3D10.0.0.2%0AAddress%3D10.0.0.105%2F24%0AGateway%3D10.0.0.1%0A"
        }
      },
      {
        "path": "/opt/cclab/install-fleetd.sh",
        "mode": 493,
        "overwrite": true,
        "contents": {
          "source": "data:;base64,IyEvYmluL2Jhc2gKIyBJbnN0YWxscyBmbGVldGQgYW5kIGZsZWV0Y3RsIGludG8gL29wdC9iaW4gZnJvbSB0aGUgcmVsZWFzZSB0YXJiYWxsIG5hbWVkIGJ5IEZMRUVUX1VSTCwKIyBjaGVja2luZyBGTEVFVF9TSEEyNTYgd2hlbiBpdCBpcyBzZXQuIFJ1biBvbmNlIGJ5IGZsZWV0LWluc3RhbGwuc2VydmljZS4Kc2V0IC1ldW8gcGlwZWZhaWwKWyAteCAvb3B0L2Jpbi9mbGVldGQgXSAmJiBleGl0IDAKdG1wPSQobWt0ZW1wIC1kKQp0cmFwICdybSAtcmYgIiR0bXAiJyBFWElUCmN1cmwgLS1mYWlsIC0tc2lsZW50IC0tc2hvdy1lcnJvciAtLWxvY2F0aW9uIC0tcmV0cnkgNSAtLW91dHB1dCAiJHRtcC9mbGVldC50YXIuZ3oiICIkRkxFRVRfVVJMIgppZiBbIC1uICIke0ZMRUVUX1NIQTI1NjotfSIgXTsgdGhlbgogIGVjaG8gIiRGTEVFVF9TSEEyNTYgICR0bXAvZmxlZXQudGFyLmd6IiB8IHNoYTI1NnN1bSAtLWNoZWNrIC0tc3RyaWN0IC0KZmkKdGFyIC14emYgIiR0bXAvZmxlZXQudGFyLmd6IiAtQyAiJHRtcCIKZm9yIGJpbiBpbiBmbGVldGQgZmxlZXRjdGw7IGRvCiAgZm91bmQ9JChmaW5kICIkdG1wIiAtdHlwZSBmIC1uYW1lICIkYmluIiB8IGhlYWQgLW4gMSkKICBbIC1uICIkZm91bmQiIF0gfHwgeyBlY2hvICJubyAkYmluIGluICRGTEVFVF9VUkwiID4mMjsgZXhpdCAxOyB9CiAgaW5zdGFsbCAtRCAtbSAwNzU1ICIkZm91bmQiICIvb3B0L2Jpbi8kYmluIgpkb25lCg=="
        }
      },
      {
        "path": "/etc/flatcar/update.conf",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:,GROUP%3Dstable%0AREBOOT_STRATEGY%3Detcd-lock%0A"
        }
      }
    ]
  },
  "systemd": {
    "units": [
      {
        "name": "etcd-member.service",
        "enabled": true,
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"ETCD_IMAGE_TAG=v3.5.16\\"\\nEnvironment=\\"ETCD_NAME=worker-02\\"\\nEnvironment=\\"ETCD_ENABLE_V2=true\\"\\nEnvironment=\\"ETCD_PROXY=on\\"\\nEnvironment=\\"ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001\\"\\nEnvironment=\\"ETCD_INITIAL_CLUSTER=services-01=http://10.0.0.101:2380,services-02=http://10.0.0.102:2380,services-03=http://10.0.0.103:2380\\"\\n"
          }
        ]
      },
      {
        "name": "fleet-install.service",
        "contents": "[Unit]\\nDescription=Install fleetd (fleet is not part of Flatcar)\\nWants=network-online.target\\nAfter=network-online.target\\nConditionPathExists=!/opt/bin/fleetd\\n\\n[Service]\\nType=oneshot\\nRemainAfterExit=yes\\nExecStart=/opt/cclab/install-fleetd.sh\\n",
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz\\"\\n"
          }
        ]
      },
      {
        "name": "fleet.service",
        "enabled": true,
        "contents": "[Unit]\\nDescription=fleet daemon\\nWants=fleet-install.service etcd-member.service\\nAfter=fleet-install.service etcd-member.service\\n\\n[Service]\\nExecStart=/opt/bin/fleetd\\nRestart=always\\nRestartSec=10s\\n\\n[Install]\\nWantedBy=multi-user.target\\n",
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"FLEET_PUBLIC_IP=10.0.0.105\\"\\nEnvironment=\\"FLEET_METADATA=role=worker\\"\\nEnvironment=\\"FLEET_ETCD_SERVERS=http://127.0.0.1:2379\\"\\n"
          }
        ]
      },
      {
        "name": "locksmithd.service",
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"LOCKSMITHD_ENDPOINT=http://10.0.0.101:2379,http://10.0.0.102:2379,http://10.0.0.103:2379\\"\\n"
          }
        ]
      }
    ]
  }
}

`

exports[`test/render/snapshot.test.ts > TAP > dev × coreos > user-data/etcd-01.yaml 1`] = `
#cloud-config
hostname: etcd-01
coreos:
  units:
    - name: etcd2.service
      command: start
    - name: fleet.service
      command: start
  etcd2:
    name: etcd-01
    advertise_client_urls: http://192.168.62.101:2379
    initial_advertise_peer_urls: http://192.168.62.101:2380
    listen_client_urls: http://0.0.0.0:2379,http://0.0.0.0:4001
    listen_peer_urls: http://192.168.62.101:2380
    initial_cluster: etcd-01=http://192.168.62.101:2380
    initial_cluster_state: new
    initial_cluster_token: cclab-dev
  fleet:
    public_ip: 192.168.62.101
    metadata: role=etcd
    etcd_servers: http://127.0.0.1:2379

`

exports[`test/render/snapshot.test.ts > TAP > dev × coreos > user-data/worker-01.yaml 1`] = `
#cloud-config
hostname: worker-01
coreos:
  units:
    - name: etcd2.service
      command: start
    - name: fleet.service
      command: start
  etcd2:
    proxy: "on"
    listen_client_urls: http://127.0.0.1:2379
    initial_cluster: etcd-01=http://192.168.62.101:2380
  fleet:
    public_ip: 192.168.62.102
    metadata: role=worker
    etcd_servers: http://127.0.0.1:2379

`

exports[`test/render/snapshot.test.ts > TAP > dev × coreos > user-data/worker-02.yaml 1`] = `
#cloud-config
hostname: worker-02
coreos:
  units:
    - name: etcd2.service
      command: start
    - name: fleet.service
      command: start
  etcd2:
    proxy: "on"
    listen_client_urls: http://127.0.0.1:2379
    initial_cluster: etcd-01=http://192.168.62.101:2380
  fleet:
    public_ip: 192.168.62.103
    metadata: role=worker
    etcd_servers: http://127.0.0.1:2379

`

exports[`test/render/snapshot.test.ts > TAP > dev × coreos > Vagrantfile 1`] = `
# -*- mode: ruby -*-
# vi: set ft=ruby :
#
# Lab "dev" ("dev", "coreos" "stable"), generated by cclab "0.0.0-test".
# Regenerate it with cclab rather than editing it: \`cclab up\` refuses a lab whose options changed.

Vagrant.require_version ">= 2.2.5"

Vagrant.configure("2") do |config|
  # Vagrant's insecure key, as coreos-vagrant and Flatcar's boxes expect.
  config.ssh.insert_key = false
  config.vm.box = "coreos-stable"
  config.vm.box_check_update = false
  config.vm.synced_folder ".", "/vagrant", disabled: true

  config.vm.provider :virtualbox do |vb|
    # Container Linux has no guest additions and no vboxsf.
    vb.check_guest_additions = false
    vb.functional_vboxsf = false
    vb.linked_clone = true
    vb.memory = 1024
    vb.cpus = 1
  end

  config.vm.provider :libvirt do |lv|
    lv.driver = "kvm"
    lv.memory = 1024
    lv.cpus = 1
    lv.graphics_type = "none"
    lv.video_type = "none"
    lv.management_network_name = "cclab-dev-mgmt"
    lv.management_network_address = "192.168.121.0/24"
    lv.default_prefix = "cclab-dev-"
  end

  config.vm.provider :parallels do |prl|
    prl.check_guest_tools = false
    prl.functional_psf = false
    prl.linked_clone = true
    prl.memory = 1024
    prl.cpus = 1
  end

  config.vm.define "etcd-01" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.62.101", libvirt__network_name: "cclab-dev", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "dev-etcd-01"
      override.vm.network :private_network, id: "lab", ip: "192.168.62.101", mac: "72316abccca3"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.62.101", libvirt__network_name: "cclab-dev", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "72:31:6a:bc:cc:a3"
    end
    m.vm.provision :file, source: "user-data/etcd-01.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/coreos-vagrant && mv /tmp/vagrantfile-user-data /var/lib/coreos-vagrant/vagrantfile-user-data"
  end

  config.vm.define "worker-01" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.62.102", libvirt__network_name: "cclab-dev", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "dev-worker-01"
      override.vm.network :private_network, id: "lab", ip: "192.168.62.102", mac: "7257f763f625"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.62.102", libvirt__network_name: "cclab-dev", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "72:57:f7:63:f6:25"
    end
    m.vm.provision :file, source: "user-data/worker-01.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/coreos-vagrant && mv /tmp/vagrantfile-user-data /var/lib/coreos-vagrant/vagrantfile-user-data"
  end

  config.vm.define "worker-02" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.62.103", libvirt__network_name: "cclab-dev", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "dev-worker-02"
      override.vm.network :private_network, id: "lab", ip: "192.168.62.103", mac: "72b053779574"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.62.103", libvirt__network_name: "cclab-dev", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "72:b0:53:77:95:74"
    end
    m.vm.provision :file, source: "user-data/worker-02.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/coreos-vagrant && mv /tmp/vagrantfile-user-data /var/lib/coreos-vagrant/vagrantfile-user-data"
  end
end

`

exports[`test/render/snapshot.test.ts > TAP > dev × flatcar > user-data/etcd-01.yaml 1`] = `
#cloud-config
hostname: etcd-01
write_files:
  - path: /opt/cclab/install-fleetd.sh
    permissions: "0755"
    owner: root
    content: |
      #!/bin/bash
      # Installs fleetd and fleetctl into /opt/bin from the release tarball named by FLEET_URL,
      # checking FLEET_SHA256 when it is set. Run once by fleet-install.service.
      set -euo pipefail
      [ -x /opt/bin/fleetd ] && exit 0
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      curl --fail --silent --show-error --location --retry 5 --output "$tmp/fleet.tar.gz" "$FLEET_URL"
      if [ -n "\${FLEET_SHA256:-}" ]; then
        echo "$FLEET_SHA256  $tmp/fleet.tar.gz" | sha256sum --check --strict -
      fi
      tar -xzf "$tmp/fleet.tar.gz" -C "$tmp"
      for bin in fleetd fleetctl; do
        found=$(find "$tmp" -type f -name "$bin" | head -n 1)
        [ -n "$found" ] || { echo "no $bin in $FLEET_URL" >&2; exit 1; }
        install -D -m 0755 "$found" "/opt/bin/$bin"
      done
coreos:
  units:
    - name: etcd-member.service
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="ETCD_IMAGE_TAG=v3.5.16"
            Environment="ETCD_NAME=etcd-01"
            Environment="ETCD_ENABLE_V2=true"
            Environment="ETCD_ADVERTISE_CLIENT_URLS=http://192.168.62.101:2379"
            Environment="ETCD_INITIAL_ADVERTISE_PEER_URLS=http://192.168.62.101:2380"
            Environment="ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001"
            Environment="ETCD_LISTEN_PEER_URLS=http://192.168.62.101:2380"
            Environment="ETCD_INITIAL_CLUSTER=etcd-01=http://192.168.62.101:2380"
            Environment="ETCD_INITIAL_CLUSTER_STATE=new"
            Environment="ETCD_INITIAL_CLUSTER_TOKEN=cclab-dev"
    - name: fleet-install.service
      content: |
        [Unit]
        Description=Install fleetd (fleet is not part of Flatcar)
        Wants=network-online.target
        After=network-online.target
        ConditionPathExists=!/opt/bin/fleetd

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/opt/cclab/install-fleetd.sh
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz"
    - name: fleet.service
      content: |
        [Unit]
        Description=fleet daemon
        Wants=fleet-install.service etcd-member.service
        After=fleet-install.service etcd-member.service

        [Service]
        ExecStart=/opt/bin/fleetd
        Restart=always
        RestartSec=10s

        [Install]
        WantedBy=multi-user.target
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_PUBLIC_IP=192.168.62.101"
            Environment="FLEET_METADATA=role=etcd"
            Environment="FLEET_ETCD_SERVERS=http://127.0.0.1:2379"

`

exports[`test/render/snapshot.test.ts > TAP > dev × flatcar > user-data/worker-01.yaml 1`] = `
#cloud-config
hostname: worker-01
write_files:
  - path: /opt/cclab/install-fleetd.sh
    permissions: "0755"
    owner: root
    content: |
      #!/bin/bash
      # Installs fleetd and fleetctl into /opt/bin from the release tarball named by FLEET_URL,
      # checking FLEET_SHA256 when it is set. Run once by fleet-install.service.
      set -euo pipefail
      [ -x /opt/bin/fleetd ] && exit 0
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      curl --fail --silent --show-error --location --retry 5 --output "$tmp/fleet.tar.gz" "$FLEET_URL"
      if [ -n "\${FLEET_SHA256:-}" ]; then
        echo "$FLEET_SHA256  $tmp/fleet.tar.gz" | sha256sum --check --strict -
      fi
      tar -xzf "$tmp/fleet.tar.gz" -C "$tmp"
      for bin in fleetd fleetctl; do
        found=$(find "$tmp" -type f -name "$bin" | head -n 1)
        [ -n "$found" ] || { echo "no $bin in $FLEET_URL" >&2; exit 1; }
        install -D -m 0755 "$found" "/opt/bin/$bin"
      done
coreos:
  units:
    - name: etcd-member.service
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="ETCD_IMAGE_TAG=v3.5.16"
            Environment="ETCD_NAME=worker-01"
            Environment="ETCD_ENABLE_V2=true"
            Environment="ETCD_PROXY=on"
            Environment="ETCD_LISTEN_CLIENT_URLS=http://127.0.0.1:2379"
            Environment="ETCD_INITIAL_CLUSTER=etcd-01=http://192.168.62.101:2380"
    - name: fleet-install.service
      content: |
        [Unit]
        Description=Install fleetd (fleet is not part of Flatcar)
        Wants=network-online.target
        After=network-online.target
        ConditionPathExists=!/opt/bin/fleetd

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/opt/cclab/install-fleetd.sh
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz"
    - name: fleet.service
      content: |
        [Unit]
        Description=fleet daemon
        Wants=fleet-install.service etcd-member.service
        After=fleet-install.service etcd-member.service

        [Service]
        ExecStart=/opt/bin/fleetd
        Restart=always
        RestartSec=10s

        [Install]
        WantedBy=multi-user.target
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_PUBLIC_IP=192.168.62.102"
            Environment="FLEET_METADATA=role=worker"
            Environment="FLEET_ETCD_SERVERS=http://127.0.0.1:2379"

`

exports[`test/render/snapshot.test.ts > TAP > dev × flatcar > user-data/worker-02.yaml 1`] = `
#cloud-config
hostname: worker-02
write_files:
  - path: /opt/cclab/install-fleetd.sh
    permissions: "0755"
    owner: root
    content: |
      #!/bin/bash
      # Installs fleetd and fleetctl into /opt/bin from the release tarball named by FLEET_URL,
      # checking FLEET_SHA256 when it is set. Run once by fleet-install.service.
      set -euo pipefail
      [ -x /opt/bin/fleetd ] && exit 0
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      curl --fail --silent --show-error --location --retry 5 --output "$tmp/fleet.tar.gz" "$FLEET_URL"
      if [ -n "\${FLEET_SHA256:-}" ]; then
        echo "$FLEET_SHA256  $tmp/fleet.tar.gz" | sha256sum --check --strict -
      fi
      tar -xzf "$tmp/fleet.tar.gz" -C "$tmp"
      for bin in fleetd fleetctl; do
        found=$(find "$tmp" -type f -name "$bin" | head -n 1)
        [ -n "$found" ] || { echo "no $bin in $FLEET_URL" >&2; exit 1; }
        install -D -m 0755 "$found" "/opt/bin/$bin"
      done
coreos:
  units:
    - name: etcd-member.service
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="ETCD_IMAGE_TAG=v3.5.16"
            Environment="ETCD_NAME=worker-02"
            Environment="ETCD_ENABLE_V2=true"
            Environment="ETCD_PROXY=on"
            Environment="ETCD_LISTEN_CLIENT_URLS=http://127.0.0.1:2379"
            Environment="ETCD_INITIAL_CLUSTER=etcd-01=http://192.168.62.101:2380"
    - name: fleet-install.service
      content: |
        [Unit]
        Description=Install fleetd (fleet is not part of Flatcar)
        Wants=network-online.target
        After=network-online.target
        ConditionPathExists=!/opt/bin/fleetd

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/opt/cclab/install-fleetd.sh
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz"
    - name: fleet.service
      content: |
        [Unit]
        Description=fleet daemon
        Wants=fleet-install.service etcd-member.service
        After=fleet-install.service etcd-member.service

        [Service]
        ExecStart=/opt/bin/fleetd
        Restart=always
        RestartSec=10s

        [Install]
        WantedBy=multi-user.target
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_PUBLIC_IP=192.168.62.103"
            Environment="FLEET_METADATA=role=worker"
            Environment="FLEET_ETCD_SERVERS=http://127.0.0.1:2379"

`

exports[`test/render/snapshot.test.ts > TAP > dev × flatcar > Vagrantfile 1`] = `
# -*- mode: ruby -*-
# vi: set ft=ruby :
#
# Lab "dev" ("dev", "flatcar" "stable"), generated by cclab "0.0.0-test".
# Regenerate it with cclab rather than editing it: \`cclab up\` refuses a lab whose options changed.

Vagrant.require_version ">= 2.2.5"

Vagrant.configure("2") do |config|
  # Vagrant's insecure key, as coreos-vagrant and Flatcar's boxes expect.
  config.ssh.insert_key = false
  config.vm.box = "flatcar-stable"
  config.vm.box_url = "https://stable.release.flatcar-linux.net/amd64-usr/current/flatcar_production_vagrant.json"
  config.vm.box_check_update = false
  config.vm.synced_folder ".", "/vagrant", disabled: true

  config.vm.provider :virtualbox do |vb|
    # Container Linux has no guest additions and no vboxsf.
    vb.check_guest_additions = false
    vb.functional_vboxsf = false
    vb.linked_clone = true
    vb.memory = 1024
    vb.cpus = 1
  end

  config.vm.provider :libvirt do |lv|
    lv.driver = "kvm"
    lv.memory = 1024
    lv.cpus = 1
    lv.graphics_type = "none"
    lv.video_type = "none"
    lv.management_network_name = "cclab-dev-mgmt"
    lv.management_network_address = "192.168.121.0/24"
    lv.default_prefix = "cclab-dev-"
  end

  config.vm.provider :parallels do |prl|
    prl.check_guest_tools = false
    prl.functional_psf = false
    prl.linked_clone = true
    prl.memory = 1024
    prl.cpus = 1
  end

  config.vm.define "etcd-01" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.62.101", libvirt__network_name: "cclab-dev", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "dev-etcd-01"
      override.vm.network :private_network, id: "lab", ip: "192.168.62.101", mac: "72316abccca3"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.62.101", libvirt__network_name: "cclab-dev", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "72:31:6a:bc:cc:a3"
    end
    m.vm.provision :file, source: "user-data/etcd-01.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/flatcar-vagrant && mv /tmp/vagrantfile-user-data /var/lib/flatcar-vagrant/vagrantfile-user-data"
  end

  config.vm.define "worker-01" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.62.102", libvirt__network_name: "cclab-dev", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "dev-worker-01"
      override.vm.network :private_network, id: "lab", ip: "192.168.62.102", mac: "7257f763f625"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.62.102", libvirt__network_name: "cclab-dev", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "72:57:f7:63:f6:25"
    end
    m.vm.provision :file, source: "user-data/worker-01.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/flatcar-vagrant && mv /tmp/vagrantfile-user-data /var/lib/flatcar-vagrant/vagrantfile-user-data"
  end

  config.vm.define "worker-02" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.62.103", libvirt__network_name: "cclab-dev", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "dev-worker-02"
      override.vm.network :private_network, id: "lab", ip: "192.168.62.103", mac: "72b053779574"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.62.103", libvirt__network_name: "cclab-dev", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "72:b0:53:77:95:74"
    end
    m.vm.provision :file, source: "user-data/worker-02.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/flatcar-vagrant && mv /tmp/vagrantfile-user-data /var/lib/flatcar-vagrant/vagrantfile-user-data"
  end
end

`

exports[`test/render/snapshot.test.ts > TAP > dev × flatcar on libvirt (Ignition through fw_cfg) > ignition/etcd-01.ign 1`] = `
{
  "ignition": {
    "version": "3.3.0"
  },
  "passwd": {
    "users": [
      {
        "name": "core",
        "sshAuthorizedKeys": [
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILEUdU7QJvYg+pGclw5oIsHYFs6LQz1j3RLbWgECQ83x cclab lab test"
        ]
      }
    ]
  },
  "storage": {
    "files": [
      {
        "path": "/etc/hostname",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:,etcd-01%0A"
        }
      },
      {
        "path": "/etc/systemd/network/00-cclab.network",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:;base64,W01hdGNoXQpNQUNBZGRyZXNzPTcyOjMxOjZhOmJjOmNjOmEzCgpbTmV0d29ya10KQWRkcmVzcz0xOTIuMTY4LjYyLjEwMS8yNAo="
        }
      },
      {
        "path": "/opt/cclab/install-fleetd.sh",
        "mode": 493,
        "overwrite": true,
        "contents": {
          "source": "data:;base64,IyEvYmluL2Jhc2gKIyBJbnN0YWxscyBmbGVldGQgYW5kIGZsZWV0Y3RsIGludG8gL29wdC9iaW4gZnJvbSB0aGUgcmVsZWFzZSB0YXJiYWxsIG5hbWVkIGJ5IEZMRUVUX1VSTCwKIyBjaGVja2luZyBGTEVFVF9TSEEyNTYgd2hlbiBpdCBpcyBzZXQuIFJ1biBvbmNlIGJ5IGZsZWV0LWluc3RhbGwuc2VydmljZS4Kc2V0IC1ldW8gcGlwZWZhaWwKWyAteCAvb3B0L2Jpbi9mbGVldGQgXSAmJiBleGl0IDAKdG1wPSQobWt0ZW1wIC1kKQp0cmFwICdybSAtcmYgIiR0bXAiJyBFWElUCmN1cmwgLS1mYWlsIC0tc2lsZW50IC0tc2hvdy1lcnJvciAtLWxvY2F0aW9uIC0tcmV0cnkgNSAtLW91dHB1dCAiJHRtcC9mbGVldC50YXIuZ3oiICIkRkxFRVRfVVJMIgppZiBbIC1uICIke0ZMRUVUX1NIQTI1NjotfSIgXTsgdGhlbgogIGVjaG8gIiRGTEVFVF9TSEEyNTYgICR0bXAvZmxlZXQudGFyLmd6IiB8IHNoYTI1NnN1bSAtLWNoZWNrIC0tc3RyaWN0IC0KZmkKdGFyIC14emYgIiR0bXAvZmxlZXQudGFyLmd6IiAtQyAiJHRtcCIKZm9yIGJpbiBpbiBmbGVldGQgZmxlZXRjdGw7IGRvCiAgZm91bmQ9JChmaW5kICIkdG1wIiAtdHlwZSBmIC1uYW1lICIkYmluIiB8IGhlYWQgLW4gMSkKICBbIC1uICIkZm91bmQiIF0gfHwgeyBlY2hvICJubyAkYmluIGluICRGTEVFVF9VUkwiID4mMjsgZXhpdCAxOyB9CiAgaW5zdGFsbCAtRCAtbSAwNzU1ICIkZm91bmQiICIvb3B0L2Jpbi8kYmluIgpkb25lCg=="
        }
      }
    ]
  },
  "systemd": {
    "units": [
      {
        "name": "etcd-member.service",
        "enabled": true,
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"ETCD_IMAGE_TAG=v3.5.16\\"\\nEnvironment=\\"ETCD_NAME=etcd-01\\"\\nEnvironment=\\"ETCD_ENABLE_V2=true\\"\\nEnvironment=\\"ETCD_ADVERTISE_CLIENT_URLS=http://192.168.62.101:2379\\"\\nEnvironment=\\"ETCD_INITIAL_ADVERTISE_PEER_URLS=http://192.168.62.101:2380\\"\\nEnvironment=\\"ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001\\"\\nEnvironment=\\"ETCD_LISTEN_PEER_URLS=http://192.168.62.101:2380\\"\\nEnvironment=\\"ETCD_INITIAL_CLUSTER=etcd-01=http://192.168.62.101:2380\\"\\nEnvironment=\\"ETCD_INITIAL_CLUSTER_STATE=new\\"\\nEnvironment=\\"ETCD_INITIAL_CLUSTER_TOKEN=cclab-dev\\"\\n"
          }
        ]
      },
      {
        "name": "fleet-install.service",
        "contents": "[Unit]\\nDescription=Install fleetd (fleet is not part of Flatcar)\\nWants=network-online.target\\nAfter=network-online.target\\nConditionPathExists=!/opt/bin/fleetd\\n\\n[Service]\\nType=oneshot\\nRemainAfterExit=yes\\nExecStart=/opt/cclab/install-fleetd.sh\\n",
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz\\"\\n"
          }
        ]
      },
      {
        "name": "fleet.service",
        "enabled": true,
        "contents": "[Unit]\\nDescription=fleet daemon\\nWants=fleet-install.service etcd-member.service\\nAfter=fleet-install.service etcd-member.service\\n\\n[Service]\\nExecStart=/opt/bin/fleetd\\nRestart=always\\nRestartSec=10s\\n\\n[Install]\\nWantedBy=multi-user.target\\n",
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"FLEET_PUBLIC_IP=192.168.62.101\\"\\nEnvironment=\\"FLEET_METADATA=role=etcd\\"\\nEnvironment=\\"FLEET_ETCD_SERVERS=http://127.0.0.1:2379\\"\\n"
          }
        ]
      }
    ]
  }
}

`

exports[`test/render/snapshot.test.ts > TAP > dev × flatcar on libvirt (Ignition through fw_cfg) > ignition/worker-01.ign 1`] = `
{
  "ignition": {
    "version": "3.3.0"
  },
  "passwd": {
    "users": [
      {
        "name": "core",
        "sshAuthorizedKeys": [
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILEUdU7QJvYg+pGclw5oIsHYFs6LQz1j3RLbWgECQ83x cclab lab test"
        ]
      }
    ]
  },
  "storage": {
    "files": [
      {
        "path": "/etc/hostname",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:,worker-01%0A"
        }
      },
      {
        "path": "/etc/systemd/network/00-cclab.network",
        "mode": 420,
        "overwrite": true,
        "contents": {
          "source": "data:;base64,W01hdGNoXQpNQUNBZGRyZXNzPTcyOjU3OmY3OjYzOmY2OjI1CgpbTmV0d29ya10KQWRkcmVzcz0xOTIuMTY4LjYyLjEwMi8yNAo="
        }
      },
      {
        "path": "/opt/cclab/install-fleetd.sh",
        "mode": 493,
        "overwrite": true,
        "contents": {
          "source": "data:;base64,IyEvYmluL2Jhc2gKIyBJbnN0YWxscyBmbGVldGQgYW5kIGZsZWV0Y3RsIGludG8gL29wdC9iaW4gZnJvbSB0aGUgcmVsZWFzZSB0YXJiYWxsIG5hbWVkIGJ5IEZMRUVUX1VSTCwKIyBjaGVja2luZyBGTEVFVF9TSEEyNTYgd2hlbiBpdCBpcyBzZXQuIFJ1biBvbmNlIGJ5IGZsZWV0LWluc3RhbGwuc2VydmljZS4Kc2V0IC1ldW8gcGlwZWZhaWwKWyAteCAvb3B0L2Jpbi9mbGVldGQgXSAmJiBleGl0IDAKdG1wPSQobWt0ZW1wIC1kKQp0cmFwICdybSAtcmYgIiR0bXAiJyBFWElUCmN1cmwgLS1mYWlsIC0tc2lsZW50IC0tc2hvdy1lcnJvciAtLWxvY2F0aW9uIC0tcmV0cnkgNSAtLW91dHB1dCAiJHRtcC9mbGVldC50YXIuZ3oiICIkRkxFRVRfVVJMIgppZiBbIC1uICIke0ZMRUVUX1NIQTI1NjotfSIgXTsgdGhlbgogIGVjaG8gIiRGTEVFVF9TSEEyNTYgICR0bXAvZmxlZXQudGFyLmd6IiB8IHNoYTI1NnN1bSAtLWNoZWNrIC0tc3RyaWN0IC0KZmkKdGFyIC14emYgIiR0bXAvZmxlZXQudGFyLmd6IiAtQyAiJHRtcCIKZm9yIGJpbiBpbiBmbGVldGQgZmxlZXRjdGw7IGRvCiAgZm91bmQ9JChmaW5kICIkdG1wIiAtdHlwZSBmIC1uYW1lICIkYmluIiB8IGhlYWQgLW4gMSkKICBbIC1uICIkZm91bmQiIF0gfHwgeyBlY2hvICJubyAkYmluIGluICRGTEVFVF9VUkwiID4mMjsgZXhpdCAxOyB9CiAgaW5zdGFsbCAtRCAtbSAwNzU1ICIkZm91bmQiICIvb3B0L2Jpbi8kYmluIgpkb25lCg=="
        }
      }
    ]
  },
  "systemd": {
    "units": [
      {
        "name": "etcd-member.service",
        "enabled": true,
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"ETCD_IMAGE_TAG=v3.5.16\\"\\nEnvironment=\\"ETCD_NAME=worker-01\\"\\nEnvironment=\\"ETCD_ENABLE_V2=true\\"\\nEnvironment=\\"ETCD_PROXY=on\\"\\nEnvironment=\\"ETCD_LISTEN_CLIENT_URLS=http://127.0.0.1:2379\\"\\nEnvironment=\\"ETCD_INITIAL_CLUSTER=etcd-01=http://192.168.62.101:2380\\"\\n"
          }
        ]
      },
      {
        "name": "fleet-install.service",
        "contents": "[Unit]\\nDescription=Install fleetd (fleet is not part of Flatcar)\\nWants=network-online.target\\nAfter=network-online.target\\nConditionPathExists=!/opt/bin/fleetd\\n\\n[Service]\\nType=oneshot\\nRemainAfterExit=yes\\nExecStart=/opt/cclab/install-fleetd.sh\\n",
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz\\"\\n"
          }
        ]
      },
      {
        "name": "fleet.service",
        "enabled": true,
        "contents": "[Unit]\\nDescription=fleet daemon\\nWants=fleet-install.service etcd-member.service\\nAfter=fleet-install.service etcd-member.service\\n\\n[Service]\\nExecStart=/opt/bin/fleetd\\nRestart=always\\nRestartSec=10s\\n\\n[Install]\\nWantedBy=multi-user.target\\n",
        "dropins": [
          {
            "name": "20-cclab.conf",
            "contents": "[Service]\\nEnvironment=\\"FLEET_PUBLIC_IP=192.168.62.102\\"\\nEnvironment=\\"FLEET_METADATA=role=worker\\"\\nEnvironment=\\"FLEET_ETCD_SERVERS=http://127.0.0.1:2379\\"\\n"
          }
        ]
      }
    ]
  }
}

`

exports[`test/render/snapshot.test.ts > TAP > dev × flatcar on libvirt (Ignition through fw_cfg) > Vagrantfile 1`] = `
# -*- mode: ruby -*-
# vi: set ft=ruby :
#
# Lab "dev" ("dev", "flatcar" "stable"), generated by cclab "0.0.0-test".
# Regenerate it with cclab rather than editing it: \`cclab up\` refuses a lab whose options changed.

Vagrant.require_version ">= 2.2.5"

Vagrant.configure("2") do |config|
  # Flatcar's image has no Vagrant OEM: Ignition (read from QEMU's fw_cfg) creates user core with
  # this lab's own key, names the machine and configures its lab network. Vagrant only boots it.
  config.ssh.username = "core"
  config.ssh.private_key_path = File.expand_path("ssh/id_ed25519", __dir__)
  config.ssh.insert_key = false
  config.vm.box = "flatcar-stable"
  config.vm.box_check_update = false
  config.vm.synced_folder ".", "/vagrant", disabled: true

  config.vm.provider :virtualbox do |vb|
    # Container Linux has no guest additions and no vboxsf.
    vb.check_guest_additions = false
    vb.functional_vboxsf = false
    vb.linked_clone = true
    vb.memory = 1024
    vb.cpus = 1
  end

  config.vm.provider :libvirt do |lv|
    lv.driver = "kvm"
    lv.memory = 1024
    lv.cpus = 1
    lv.graphics_type = "none"
    lv.video_type = "none"
    lv.management_network_name = "cclab-dev-mgmt"
    lv.management_network_address = "192.168.121.0/24"
    lv.default_prefix = "cclab-dev-"
  end

  config.vm.provider :parallels do |prl|
    prl.check_guest_tools = false
    prl.functional_psf = false
    prl.linked_clone = true
    prl.memory = 1024
    prl.cpus = 1
  end

  config.vm.define "etcd-01" do |m|
    # Address and hostname come from Ignition (a networkd file matching the NIC's MAC), not from Vagrant.
    m.vm.network :private_network, id: "lab", ip: "192.168.62.101", auto_config: false, libvirt__network_name: "cclab-dev", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "dev-etcd-01"
      override.vm.network :private_network, id: "lab", ip: "192.168.62.101", mac: "72316abccca3"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.62.101", auto_config: false, libvirt__network_name: "cclab-dev", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "72:31:6a:bc:cc:a3"
      # Flatcar reads its Ignition config from this fw_cfg entry (QEMU doubles a comma in a path).
      lv.qemuargs value: "-fw_cfg"
      lv.qemuargs value: "name=opt/org.flatcar-linux/config,file=" + File.expand_path("ignition/etcd-01.ign", __dir__).gsub(",", ",,")
    end
  end

  config.vm.define "worker-01" do |m|
    # Address and hostname come from Ignition (a networkd file matching the NIC's MAC), not from Vagrant.
    m.vm.network :private_network, id: "lab", ip: "192.168.62.102", auto_config: false, libvirt__network_name: "cclab-dev", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "dev-worker-01"
      override.vm.network :private_network, id: "lab", ip: "192.168.62.102", mac: "7257f763f625"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.62.102", auto_config: false, libvirt__network_name: "cclab-dev", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "72:57:f7:63:f6:25"
      # Flatcar reads its Ignition config from this fw_cfg entry (QEMU doubles a comma in a path).
      lv.qemuargs value: "-fw_cfg"
      lv.qemuargs value: "name=opt/org.flatcar-linux/config,file=" + File.expand_path("ignition/worker-01.ign", __dir__).gsub(",", ",,")
    end
  end
end

`

exports[`test/render/snapshot.test.ts > TAP > laptop × coreos > user-data/core-01.yaml 1`] = `
#cloud-config
hostname: core-01
write_files:
  - path: /etc/docker/tls/ca.pem
    permissions: "0644"
    owner: root
    content: |
      -----BEGIN CERTIFICATE-----
      TEST-CA
      -----END CERTIFICATE-----
  - path: /etc/docker/tls/server.pem
    permissions: "0644"
    owner: root
    content: |
      -----BEGIN CERTIFICATE-----
      TEST-SERVER-CERT-core-01
      -----END CERTIFICATE-----
  - path: /etc/docker/tls/server-key.pem
    permissions: "0600"
    owner: root
    content: |
      -----BEGIN RSA PRIVATE KEY-----
      TEST-SERVER-KEY-core-01
      -----END RSA PRIVATE KEY-----
  - path: /etc/docker/daemon.json
    permissions: "0644"
    owner: root
    content: |
      {
        "tlsverify": true,
        "tlscacert": "/etc/docker/tls/ca.pem",
        "tlscert": "/etc/docker/tls/server.pem",
        "tlskey": "/etc/docker/tls/server-key.pem"
      }
coreos:
  units:
    - name: docker-tls-tcp.socket
      content: |
        [Unit]
        Description=Docker Socket for the API with TLS

        [Socket]
        ListenStream=2376
        BindIPv6Only=both
        Service=docker.service

        [Install]
        WantedBy=sockets.target
      enable: true
    - name: enable-docker-tls-tcp.service
      content: |
        [Unit]
        Description=Enable the Docker Socket for the API with TLS
        After=docker.service docker.socket

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        # systemd refuses to start a socket whose service is already running ("Socket service
        # docker.service already active, refusing"): stop docker, start the socket, start docker again
        # (which also makes it read /etc/docker/daemon.json with the TLS settings).
        ExecStart=/usr/bin/systemctl enable docker-tls-tcp.socket
        ExecStart=/usr/bin/systemctl stop docker.service
        ExecStart=/usr/bin/systemctl start docker-tls-tcp.socket
        ExecStart=/usr/bin/systemctl start docker.service
      command: start

`

exports[`test/render/snapshot.test.ts > TAP > laptop × coreos > Vagrantfile 1`] = `
# -*- mode: ruby -*-
# vi: set ft=ruby :
#
# Lab "laptop" ("laptop", "coreos" "stable"), generated by cclab "0.0.0-test".
# Regenerate it with cclab rather than editing it: \`cclab up\` refuses a lab whose options changed.

Vagrant.require_version ">= 2.2.5"

Vagrant.configure("2") do |config|
  # Vagrant's insecure key, as coreos-vagrant and Flatcar's boxes expect.
  config.ssh.insert_key = false
  config.vm.box = "coreos-stable"
  config.vm.box_check_update = false
  config.vm.synced_folder ".", "/vagrant", disabled: true

  config.vm.provider :virtualbox do |vb|
    # Container Linux has no guest additions and no vboxsf.
    vb.check_guest_additions = false
    vb.functional_vboxsf = false
    vb.linked_clone = true
    vb.memory = 2048
    vb.cpus = 1
  end

  config.vm.provider :libvirt do |lv|
    lv.driver = "kvm"
    lv.memory = 2048
    lv.cpus = 1
    lv.graphics_type = "none"
    lv.video_type = "none"
    lv.management_network_name = "cclab-laptop-mgmt"
    lv.management_network_address = "192.168.121.0/24"
    lv.default_prefix = "cclab-laptop-"
  end

  config.vm.provider :parallels do |prl|
    prl.check_guest_tools = false
    prl.functional_psf = false
    prl.linked_clone = true
    prl.memory = 2048
    prl.cpus = 1
  end

  config.vm.define "core-01" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.59.101", libvirt__network_name: "cclab-laptop", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The Docker API (TLS, the lab's client certificate): forwarded on the host's loopback only.
    m.vm.network :forwarded_port, id: "docker", guest: 2376, host: 2376, host_ip: "127.0.0.1", auto_correct: true
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "laptop-core-01"
      override.vm.network :private_network, id: "lab", ip: "192.168.59.101", mac: "f67544e936ba"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.59.101", libvirt__network_name: "cclab-laptop", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "f6:75:44:e9:36:ba"
    end
    m.vm.provision :file, source: "user-data/core-01.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/coreos-vagrant && mv /tmp/vagrantfile-user-data /var/lib/coreos-vagrant/vagrantfile-user-data"
  end
end

`

exports[`test/render/snapshot.test.ts > TAP > laptop × flatcar > user-data/core-01.yaml 1`] = `
#cloud-config
hostname: core-01
write_files:
  - path: /etc/docker/tls/ca.pem
    permissions: "0644"
    owner: root
    content: |
      -----BEGIN CERTIFICATE-----
      TEST-CA
      -----END CERTIFICATE-----
  - path: /etc/docker/tls/server.pem
    permissions: "0644"
    owner: root
    content: |
      -----BEGIN CERTIFICATE-----
      TEST-SERVER-CERT-core-01
      -----END CERTIFICATE-----
  - path: /etc/docker/tls/server-key.pem
    permissions: "0600"
    owner: root
    content: |
      -----BEGIN RSA PRIVATE KEY-----
      TEST-SERVER-KEY-core-01
      -----END RSA PRIVATE KEY-----
  - path: /etc/docker/daemon.json
    permissions: "0644"
    owner: root
    content: |
      {
        "tlsverify": true,
        "tlscacert": "/etc/docker/tls/ca.pem",
        "tlscert": "/etc/docker/tls/server.pem",
        "tlskey": "/etc/docker/tls/server-key.pem"
      }
coreos:
  units:
    - name: docker-tls-tcp.socket
      content: |
        [Unit]
        Description=Docker Socket for the API with TLS

        [Socket]
        ListenStream=2376
        BindIPv6Only=both
        Service=docker.service

        [Install]
        WantedBy=sockets.target
      enable: true
    - name: enable-docker-tls-tcp.service
      content: |
        [Unit]
        Description=Enable the Docker Socket for the API with TLS
        After=docker.service docker.socket

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        # systemd refuses to start a socket whose service is already running ("Socket service
        # docker.service already active, refusing"): stop docker, start the socket, start docker again
        # (which also makes it read /etc/docker/daemon.json with the TLS settings).
        ExecStart=/usr/bin/systemctl enable docker-tls-tcp.socket
        ExecStart=/usr/bin/systemctl stop docker.service
        ExecStart=/usr/bin/systemctl start docker-tls-tcp.socket
        ExecStart=/usr/bin/systemctl start docker.service
      command: start

`

exports[`test/render/snapshot.test.ts > TAP > laptop × flatcar > Vagrantfile 1`] = `
# -*- mode: ruby -*-
# vi: set ft=ruby :
#
# Lab "laptop" ("laptop", "flatcar" "stable"), generated by cclab "0.0.0-test".
# Regenerate it with cclab rather than editing it: \`cclab up\` refuses a lab whose options changed.

Vagrant.require_version ">= 2.2.5"

Vagrant.configure("2") do |config|
  # Vagrant's insecure key, as coreos-vagrant and Flatcar's boxes expect.
  config.ssh.insert_key = false
  config.vm.box = "flatcar-stable"
  config.vm.box_url = "https://stable.release.flatcar-linux.net/amd64-usr/current/flatcar_production_vagrant.json"
  config.vm.box_check_update = false
  config.vm.synced_folder ".", "/vagrant", disabled: true

  config.vm.provider :virtualbox do |vb|
    # Container Linux has no guest additions and no vboxsf.
    vb.check_guest_additions = false
    vb.functional_vboxsf = false
    vb.linked_clone = true
    vb.memory = 2048
    vb.cpus = 1
  end

  config.vm.provider :libvirt do |lv|
    lv.driver = "kvm"
    lv.memory = 2048
    lv.cpus = 1
    lv.graphics_type = "none"
    lv.video_type = "none"
    lv.management_network_name = "cclab-laptop-mgmt"
    lv.management_network_address = "192.168.121.0/24"
    lv.default_prefix = "cclab-laptop-"
  end

  config.vm.provider :parallels do |prl|
    prl.check_guest_tools = false
    prl.functional_psf = false
    prl.linked_clone = true
    prl.memory = 2048
    prl.cpus = 1
  end

  config.vm.define "core-01" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.59.101", libvirt__network_name: "cclab-laptop", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The Docker API (TLS, the lab's client certificate): forwarded on the host's loopback only.
    m.vm.network :forwarded_port, id: "docker", guest: 2376, host: 2376, host_ip: "127.0.0.1", auto_correct: true
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "laptop-core-01"
      override.vm.network :private_network, id: "lab", ip: "192.168.59.101", mac: "f67544e936ba"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.59.101", libvirt__network_name: "cclab-laptop", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "f6:75:44:e9:36:ba"
    end
    m.vm.provision :file, source: "user-data/core-01.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/flatcar-vagrant && mv /tmp/vagrantfile-user-data /var/lib/flatcar-vagrant/vagrantfile-user-data"
  end
end

`

exports[`test/render/snapshot.test.ts > TAP > production × coreos > user-data/services-01.yaml 1`] = `
#cloud-config
hostname: services-01
coreos:
  units:
    - name: etcd2.service
      command: start
    - name: fleet.service
      command: start
  etcd2:
    name: services-01
    advertise_client_urls: http://192.168.63.101:2379
    initial_advertise_peer_urls: http://192.168.63.101:2380
    listen_client_urls: http://0.0.0.0:2379,http://0.0.0.0:4001
    listen_peer_urls: http://192.168.63.101:2380
    initial_cluster: services-01=http://192.168.63.101:2380,services-02=http://192.168.63.102:2380,services-03=http://192.168.63.103:2380
    initial_cluster_state: new
    initial_cluster_token: cclab-production
  fleet:
    public_ip: 192.168.63.101
    metadata: role=services
    etcd_servers: http://127.0.0.1:2379
  update:
    group: stable
    reboot_strategy: etcd-lock

`

exports[`test/render/snapshot.test.ts > TAP > production × coreos > user-data/services-02.yaml 1`] = `
#cloud-config
hostname: services-02
coreos:
  units:
    - name: etcd2.service
      command: start
    - name: fleet.service
      command: start
  etcd2:
    name: services-02
    advertise_client_urls: http://192.168.63.102:2379
    initial_advertise_peer_urls: http://192.168.63.102:2380
    listen_client_urls: http://0.0.0.0:2379,http://0.0.0.0:4001
    listen_peer_urls: http://192.168.63.102:2380
    initial_cluster: services-01=http://192.168.63.101:2380,services-02=http://192.168.63.102:2380,services-03=http://192.168.63.103:2380
    initial_cluster_state: new
    initial_cluster_token: cclab-production
  fleet:
    public_ip: 192.168.63.102
    metadata: role=services
    etcd_servers: http://127.0.0.1:2379
  update:
    group: stable
    reboot_strategy: etcd-lock

`

exports[`test/render/snapshot.test.ts > TAP > production × coreos > user-data/services-03.yaml 1`] = `
#cloud-config
hostname: services-03
coreos:
  units:
    - name: etcd2.service
      command: start
    - name: fleet.service
      command: start
  etcd2:
    name: services-03
    advertise_client_urls: http://192.168.63.103:2379
    initial_advertise_peer_urls: http://192.168.63.103:2380
    listen_client_urls: http://0.0.0.0:2379,http://0.0.0.0:4001
    listen_peer_urls: http://192.168.63.103:2380
    initial_cluster: services-01=http://192.168.63.101:2380,services-02=http://192.168.63.102:2380,services-03=http://192.168.63.103:2380
    initial_cluster_state: new
    initial_cluster_token: cclab-production
  fleet:
    public_ip: 192.168.63.103
    metadata: role=services
    etcd_servers: http://127.0.0.1:2379
  update:
    group: stable
    reboot_strategy: etcd-lock

`

exports[`test/render/snapshot.test.ts > TAP > production × coreos > user-data/worker-01.yaml 1`] = `
#cloud-config
hostname: worker-01
coreos:
  units:
    - name: etcd2.service
      command: start
    - name: fleet.service
      command: start
  etcd2:
    proxy: "on"
    listen_client_urls: http://0.0.0.0:2379,http://0.0.0.0:4001
    initial_cluster: services-01=http://192.168.63.101:2380,services-02=http://192.168.63.102:2380,services-03=http://192.168.63.103:2380
  fleet:
    public_ip: 192.168.63.104
    metadata: role=worker
    etcd_servers: http://127.0.0.1:2379
  update:
    group: stable
    reboot_strategy: etcd-lock
  locksmith:
    endpoint: http://127.0.0.1:2379

`

exports[`test/render/snapshot.test.ts > TAP > production × coreos > user-data/worker-02.yaml 1`] = `
#cloud-config
hostname: worker-02
coreos:
  units:
    - name: etcd2.service
      command: start
    - name: fleet.service
      command: start
  etcd2:
    proxy: "on"
    listen_client_urls: http://0.0.0.0:2379,http://0.0.0.0:4001
    initial_cluster: services-01=http://192.168.63.101:2380,services-02=http://192.168.63.102:2380,services-03=http://192.168.63.103:2380
  fleet:
    public_ip: 192.168.63.105
    metadata: role=worker
    etcd_servers: http://127.0.0.1:2379
  update:
    group: stable
    reboot_strategy: etcd-lock
  locksmith:
    endpoint: http://127.0.0.1:2379

`

exports[`test/render/snapshot.test.ts > TAP > production × coreos > Vagrantfile 1`] = `
# -*- mode: ruby -*-
# vi: set ft=ruby :
#
# Lab "production" ("production", "coreos" "stable"), generated by cclab "0.0.0-test".
# Regenerate it with cclab rather than editing it: \`cclab up\` refuses a lab whose options changed.

Vagrant.require_version ">= 2.2.5"

Vagrant.configure("2") do |config|
  # Vagrant's insecure key, as coreos-vagrant and Flatcar's boxes expect.
  config.ssh.insert_key = false
  config.vm.box = "coreos-stable"
  config.vm.box_check_update = false
  config.vm.synced_folder ".", "/vagrant", disabled: true

  config.vm.provider :virtualbox do |vb|
    # Container Linux has no guest additions and no vboxsf.
    vb.check_guest_additions = false
    vb.functional_vboxsf = false
    vb.linked_clone = true
    vb.memory = 1024
    vb.cpus = 1
  end

  config.vm.provider :libvirt do |lv|
    lv.driver = "kvm"
    lv.memory = 1024
    lv.cpus = 1
    lv.graphics_type = "none"
    lv.video_type = "none"
    lv.management_network_name = "cclab-production-mgmt"
    lv.management_network_address = "192.168.121.0/24"
    lv.default_prefix = "cclab-production-"
  end

  config.vm.provider :parallels do |prl|
    prl.check_guest_tools = false
    prl.functional_psf = false
    prl.linked_clone = true
    prl.memory = 1024
    prl.cpus = 1
  end

  config.vm.define "services-01" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.63.101", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "production-services-01"
      override.vm.network :private_network, id: "lab", ip: "192.168.63.101", mac: "2e809c4b3ad1"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.63.101", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "2e:80:9c:4b:3a:d1"
    end
    m.vm.provision :file, source: "user-data/services-01.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/coreos-vagrant && mv /tmp/vagrantfile-user-data /var/lib/coreos-vagrant/vagrantfile-user-data"
  end

  config.vm.define "services-02" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.63.102", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "production-services-02"
      override.vm.network :private_network, id: "lab", ip: "192.168.63.102", mac: "32214cd7041c"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.63.102", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "32:21:4c:d7:04:1c"
    end
    m.vm.provision :file, source: "user-data/services-02.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/coreos-vagrant && mv /tmp/vagrantfile-user-data /var/lib/coreos-vagrant/vagrantfile-user-data"
  end

  config.vm.define "services-03" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.63.103", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "production-services-03"
      override.vm.network :private_network, id: "lab", ip: "192.168.63.103", mac: "2652b9887949"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.63.103", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "26:52:b9:88:79:49"
    end
    m.vm.provision :file, source: "user-data/services-03.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/coreos-vagrant && mv /tmp/vagrantfile-user-data /var/lib/coreos-vagrant/vagrantfile-user-data"
  end

  config.vm.define "worker-01" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.63.104", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "production-worker-01"
      override.vm.network :private_network, id: "lab", ip: "192.168.63.104", mac: "825b2e134eee"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.63.104", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "82:5b:2e:13:4e:ee"
    end
    m.vm.provision :file, source: "user-data/worker-01.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/coreos-vagrant && mv /tmp/vagrantfile-user-data /var/lib/coreos-vagrant/vagrantfile-user-data"
  end

  config.vm.define "worker-02" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.63.105", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "production-worker-02"
      override.vm.network :private_network, id: "lab", ip: "192.168.63.105", mac: "b2c07a85dc4f"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.63.105", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "b2:c0:7a:85:dc:4f"
    end
    m.vm.provision :file, source: "user-data/worker-02.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/coreos-vagrant && mv /tmp/vagrantfile-user-data /var/lib/coreos-vagrant/vagrantfile-user-data"
  end
end

`

exports[`test/render/snapshot.test.ts > TAP > production × flatcar > user-data/services-01.yaml 1`] = `
#cloud-config
hostname: services-01
write_files:
  - path: /opt/cclab/install-fleetd.sh
    permissions: "0755"
    owner: root
    content: |
      #!/bin/bash
      # Installs fleetd and fleetctl into /opt/bin from the release tarball named by FLEET_URL,
      # checking FLEET_SHA256 when it is set. Run once by fleet-install.service.
      set -euo pipefail
      [ -x /opt/bin/fleetd ] && exit 0
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      curl --fail --silent --show-error --location --retry 5 --output "$tmp/fleet.tar.gz" "$FLEET_URL"
      if [ -n "\${FLEET_SHA256:-}" ]; then
        echo "$FLEET_SHA256  $tmp/fleet.tar.gz" | sha256sum --check --strict -
      fi
      tar -xzf "$tmp/fleet.tar.gz" -C "$tmp"
      for bin in fleetd fleetctl; do
        found=$(find "$tmp" -type f -name "$bin" | head -n 1)
        [ -n "$found" ] || { echo "no $bin in $FLEET_URL" >&2; exit 1; }
        install -D -m 0755 "$found" "/opt/bin/$bin"
      done
coreos:
  units:
    - name: etcd-member.service
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="ETCD_IMAGE_TAG=v3.5.16"
            Environment="ETCD_NAME=services-01"
            Environment="ETCD_ENABLE_V2=true"
            Environment="ETCD_ADVERTISE_CLIENT_URLS=http://192.168.63.101:2379"
            Environment="ETCD_INITIAL_ADVERTISE_PEER_URLS=http://192.168.63.101:2380"
            Environment="ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001"
            Environment="ETCD_LISTEN_PEER_URLS=http://192.168.63.101:2380"
            Environment="ETCD_INITIAL_CLUSTER=services-01=http://192.168.63.101:2380,services-02=http://192.168.63.102:2380,services-03=http://192.168.63.103:2380"
            Environment="ETCD_INITIAL_CLUSTER_STATE=new"
            Environment="ETCD_INITIAL_CLUSTER_TOKEN=cclab-production"
    - name: fleet-install.service
      content: |
        [Unit]
        Description=Install fleetd (fleet is not part of Flatcar)
        Wants=network-online.target
        After=network-online.target
        ConditionPathExists=!/opt/bin/fleetd

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/opt/cclab/install-fleetd.sh
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz"
    - name: fleet.service
      content: |
        [Unit]
        Description=fleet daemon
        Wants=fleet-install.service etcd-member.service
        After=fleet-install.service etcd-member.service

        [Service]
        ExecStart=/opt/bin/fleetd
        Restart=always
        RestartSec=10s

        [Install]
        WantedBy=multi-user.target
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_PUBLIC_IP=192.168.63.101"
            Environment="FLEET_METADATA=role=services"
            Environment="FLEET_ETCD_SERVERS=http://127.0.0.1:2379"
  update:
    group: stable
    reboot_strategy: etcd-lock

`

exports[`test/render/snapshot.test.ts > TAP > production × flatcar > user-data/services-02.yaml 1`] = `
#cloud-config
hostname: services-02
write_files:
  - path: /opt/cclab/install-fleetd.sh
    permissions: "0755"
    owner: root
    content: |
      #!/bin/bash
      # Installs fleetd and fleetctl into /opt/bin from the release tarball named by FLEET_URL,
      # checking FLEET_SHA256 when it is set. Run once by fleet-install.service.
      set -euo pipefail
      [ -x /opt/bin/fleetd ] && exit 0
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      curl --fail --silent --show-error --location --retry 5 --output "$tmp/fleet.tar.gz" "$FLEET_URL"
      if [ -n "\${FLEET_SHA256:-}" ]; then
        echo "$FLEET_SHA256  $tmp/fleet.tar.gz" | sha256sum --check --strict -
      fi
      tar -xzf "$tmp/fleet.tar.gz" -C "$tmp"
      for bin in fleetd fleetctl; do
        found=$(find "$tmp" -type f -name "$bin" | head -n 1)
        [ -n "$found" ] || { echo "no $bin in $FLEET_URL" >&2; exit 1; }
        install -D -m 0755 "$found" "/opt/bin/$bin"
      done
coreos:
  units:
    - name: etcd-member.service
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="ETCD_IMAGE_TAG=v3.5.16"
            Environment="ETCD_NAME=services-02"
            Environment="ETCD_ENABLE_V2=true"
            Environment="ETCD_ADVERTISE_CLIENT_URLS=http://192.168.63.102:2379"
            Environment="ETCD_INITIAL_ADVERTISE_PEER_URLS=http://192.168.63.102:2380"
            Environment="ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001"
            Environment="ETCD_LISTEN_PEER_URLS=http://192.168.63.102:2380"
            Environment="ETCD_INITIAL_CLUSTER=services-01=http://192.168.63.101:2380,services-02=http://192.168.63.102:2380,services-03=http://192.168.63.103:2380"
            Environment="ETCD_INITIAL_CLUSTER_STATE=new"
            Environment="ETCD_INITIAL_CLUSTER_TOKEN=cclab-production"
    - name: fleet-install.service
      content: |
        [Unit]
        Description=Install fleetd (fleet is not part of Flatcar)
        Wants=network-online.target
        After=network-online.target
        ConditionPathExists=!/opt/bin/fleetd

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/opt/cclab/install-fleetd.sh
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz"
    - name: fleet.service
      content: |
        [Unit]
        Description=fleet daemon
        Wants=fleet-install.service etcd-member.service
        After=fleet-install.service etcd-member.service

        [Service]
        ExecStart=/opt/bin/fleetd
        Restart=always
        RestartSec=10s

        [Install]
        WantedBy=multi-user.target
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_PUBLIC_IP=192.168.63.102"
            Environment="FLEET_METADATA=role=services"
            Environment="FLEET_ETCD_SERVERS=http://127.0.0.1:2379"
  update:
    group: stable
    reboot_strategy: etcd-lock

`

exports[`test/render/snapshot.test.ts > TAP > production × flatcar > user-data/services-03.yaml 1`] = `
#cloud-config
hostname: services-03
write_files:
  - path: /opt/cclab/install-fleetd.sh
    permissions: "0755"
    owner: root
    content: |
      #!/bin/bash
      # Installs fleetd and fleetctl into /opt/bin from the release tarball named by FLEET_URL,
      # checking FLEET_SHA256 when it is set. Run once by fleet-install.service.
      set -euo pipefail
      [ -x /opt/bin/fleetd ] && exit 0
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      curl --fail --silent --show-error --location --retry 5 --output "$tmp/fleet.tar.gz" "$FLEET_URL"
      if [ -n "\${FLEET_SHA256:-}" ]; then
        echo "$FLEET_SHA256  $tmp/fleet.tar.gz" | sha256sum --check --strict -
      fi
      tar -xzf "$tmp/fleet.tar.gz" -C "$tmp"
      for bin in fleetd fleetctl; do
        found=$(find "$tmp" -type f -name "$bin" | head -n 1)
        [ -n "$found" ] || { echo "no $bin in $FLEET_URL" >&2; exit 1; }
        install -D -m 0755 "$found" "/opt/bin/$bin"
      done
coreos:
  units:
    - name: etcd-member.service
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="ETCD_IMAGE_TAG=v3.5.16"
            Environment="ETCD_NAME=services-03"
            Environment="ETCD_ENABLE_V2=true"
            Environment="ETCD_ADVERTISE_CLIENT_URLS=http://192.168.63.103:2379"
            Environment="ETCD_INITIAL_ADVERTISE_PEER_URLS=http://192.168.63.103:2380"
            Environment="ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001"
            Environment="ETCD_LISTEN_PEER_URLS=http://192.168.63.103:2380"
            Environment="ETCD_INITIAL_CLUSTER=services-01=http://192.168.63.101:2380,services-02=http://192.168.63.102:2380,services-03=http://192.168.63.103:2380"
            Environment="ETCD_INITIAL_CLUSTER_STATE=new"
            Environment="ETCD_INITIAL_CLUSTER_TOKEN=cclab-production"
    - name: fleet-install.service
      content: |
        [Unit]
        Description=Install fleetd (fleet is not part of Flatcar)
        Wants=network-online.target
        After=network-online.target
        ConditionPathExists=!/opt/bin/fleetd

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/opt/cclab/install-fleetd.sh
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz"
    - name: fleet.service
      content: |
        [Unit]
        Description=fleet daemon
        Wants=fleet-install.service etcd-member.service
        After=fleet-install.service etcd-member.service

        [Service]
        ExecStart=/opt/bin/fleetd
        Restart=always
        RestartSec=10s

        [Install]
        WantedBy=multi-user.target
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_PUBLIC_IP=192.168.63.103"
            Environment="FLEET_METADATA=role=services"
            Environment="FLEET_ETCD_SERVERS=http://127.0.0.1:2379"
  update:
    group: stable
    reboot_strategy: etcd-lock

`

exports[`test/render/snapshot.test.ts > TAP > production × flatcar > user-data/worker-01.yaml 1`] = `
#cloud-config
hostname: worker-01
write_files:
  - path: /opt/cclab/install-fleetd.sh
    permissions: "0755"
    owner: root
    content: |
      #!/bin/bash
      # Installs fleetd and fleetctl into /opt/bin from the release tarball named by FLEET_URL,
      # checking FLEET_SHA256 when it is set. Run once by fleet-install.service.
      set -euo pipefail
      [ -x /opt/bin/fleetd ] && exit 0
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      curl --fail --silent --show-error --location --retry 5 --output "$tmp/fleet.tar.gz" "$FLEET_URL"
      if [ -n "\${FLEET_SHA256:-}" ]; then
        echo "$FLEET_SHA256  $tmp/fleet.tar.gz" | sha256sum --check --strict -
      fi
      tar -xzf "$tmp/fleet.tar.gz" -C "$tmp"
      for bin in fleetd fleetctl; do
        found=$(find "$tmp" -type f -name "$bin" | head -n 1)
        [ -n "$found" ] || { echo "no $bin in $FLEET_URL" >&2; exit 1; }
        install -D -m 0755 "$found" "/opt/bin/$bin"
      done
coreos:
  units:
    - name: etcd-member.service
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="ETCD_IMAGE_TAG=v3.5.16"
            Environment="ETCD_NAME=worker-01"
            Environment="ETCD_ENABLE_V2=true"
            Environment="ETCD_PROXY=on"
            Environment="ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001"
            Environment="ETCD_INITIAL_CLUSTER=services-01=http://192.168.63.101:2380,services-02=http://192.168.63.102:2380,services-03=http://192.168.63.103:2380"
    - name: fleet-install.service
      content: |
        [Unit]
        Description=Install fleetd (fleet is not part of Flatcar)
        Wants=network-online.target
        After=network-online.target
        ConditionPathExists=!/opt/bin/fleetd

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/opt/cclab/install-fleetd.sh
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz"
    - name: fleet.service
      content: |
        [Unit]
        Description=fleet daemon
        Wants=fleet-install.service etcd-member.service
        After=fleet-install.service etcd-member.service

        [Service]
        ExecStart=/opt/bin/fleetd
        Restart=always
        RestartSec=10s

        [Install]
        WantedBy=multi-user.target
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_PUBLIC_IP=192.168.63.104"
            Environment="FLEET_METADATA=role=worker"
            Environment="FLEET_ETCD_SERVERS=http://127.0.0.1:2379"
  update:
    group: stable
    reboot_strategy: etcd-lock
  locksmith:
    endpoint: http://192.168.63.101:2379,http://192.168.63.102:2379,http://192.168.63.103:2379

`

exports[`test/render/snapshot.test.ts > TAP > production × flatcar > user-data/worker-02.yaml 1`] = `
#cloud-config
hostname: worker-02
write_files:
  - path: /opt/cclab/install-fleetd.sh
    permissions: "0755"
    owner: root
    content: |
      #!/bin/bash
      # Installs fleetd and fleetctl into /opt/bin from the release tarball named by FLEET_URL,
      # checking FLEET_SHA256 when it is set. Run once by fleet-install.service.
      set -euo pipefail
      [ -x /opt/bin/fleetd ] && exit 0
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      curl --fail --silent --show-error --location --retry 5 --output "$tmp/fleet.tar.gz" "$FLEET_URL"
      if [ -n "\${FLEET_SHA256:-}" ]; then
        echo "$FLEET_SHA256  $tmp/fleet.tar.gz" | sha256sum --check --strict -
      fi
      tar -xzf "$tmp/fleet.tar.gz" -C "$tmp"
      for bin in fleetd fleetctl; do
        found=$(find "$tmp" -type f -name "$bin" | head -n 1)
        [ -n "$found" ] || { echo "no $bin in $FLEET_URL" >&2; exit 1; }
        install -D -m 0755 "$found" "/opt/bin/$bin"
      done
coreos:
  units:
    - name: etcd-member.service
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="ETCD_IMAGE_TAG=v3.5.16"
            Environment="ETCD_NAME=worker-02"
            Environment="ETCD_ENABLE_V2=true"
            Environment="ETCD_PROXY=on"
            Environment="ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001"
            Environment="ETCD_INITIAL_CLUSTER=services-01=http://192.168.63.101:2380,services-02=http://192.168.63.102:2380,services-03=http://192.168.63.103:2380"
    - name: fleet-install.service
      content: |
        [Unit]
        Description=Install fleetd (fleet is not part of Flatcar)
        Wants=network-online.target
        After=network-online.target
        ConditionPathExists=!/opt/bin/fleetd

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/opt/cclab/install-fleetd.sh
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz"
    - name: fleet.service
      content: |
        [Unit]
        Description=fleet daemon
        Wants=fleet-install.service etcd-member.service
        After=fleet-install.service etcd-member.service

        [Service]
        ExecStart=/opt/bin/fleetd
        Restart=always
        RestartSec=10s

        [Install]
        WantedBy=multi-user.target
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_PUBLIC_IP=192.168.63.105"
            Environment="FLEET_METADATA=role=worker"
            Environment="FLEET_ETCD_SERVERS=http://127.0.0.1:2379"
  update:
    group: stable
    reboot_strategy: etcd-lock
  locksmith:
    endpoint: http://192.168.63.101:2379,http://192.168.63.102:2379,http://192.168.63.103:2379

`

exports[`test/render/snapshot.test.ts > TAP > production × flatcar > Vagrantfile 1`] = `
# -*- mode: ruby -*-
# vi: set ft=ruby :
#
# Lab "production" ("production", "flatcar" "stable"), generated by cclab "0.0.0-test".
# Regenerate it with cclab rather than editing it: \`cclab up\` refuses a lab whose options changed.

Vagrant.require_version ">= 2.2.5"

Vagrant.configure("2") do |config|
  # Vagrant's insecure key, as coreos-vagrant and Flatcar's boxes expect.
  config.ssh.insert_key = false
  config.vm.box = "flatcar-stable"
  config.vm.box_url = "https://stable.release.flatcar-linux.net/amd64-usr/current/flatcar_production_vagrant.json"
  config.vm.box_check_update = false
  config.vm.synced_folder ".", "/vagrant", disabled: true

  config.vm.provider :virtualbox do |vb|
    # Container Linux has no guest additions and no vboxsf.
    vb.check_guest_additions = false
    vb.functional_vboxsf = false
    vb.linked_clone = true
    vb.memory = 1024
    vb.cpus = 1
  end

  config.vm.provider :libvirt do |lv|
    lv.driver = "kvm"
    lv.memory = 1024
    lv.cpus = 1
    lv.graphics_type = "none"
    lv.video_type = "none"
    lv.management_network_name = "cclab-production-mgmt"
    lv.management_network_address = "192.168.121.0/24"
    lv.default_prefix = "cclab-production-"
  end

  config.vm.provider :parallels do |prl|
    prl.check_guest_tools = false
    prl.functional_psf = false
    prl.linked_clone = true
    prl.memory = 1024
    prl.cpus = 1
  end

  config.vm.define "services-01" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.63.101", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "production-services-01"
      override.vm.network :private_network, id: "lab", ip: "192.168.63.101", mac: "2e809c4b3ad1"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.63.101", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "2e:80:9c:4b:3a:d1"
    end
    m.vm.provision :file, source: "user-data/services-01.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/flatcar-vagrant && mv /tmp/vagrantfile-user-data /var/lib/flatcar-vagrant/vagrantfile-user-data"
  end

  config.vm.define "services-02" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.63.102", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "production-services-02"
      override.vm.network :private_network, id: "lab", ip: "192.168.63.102", mac: "32214cd7041c"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.63.102", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "32:21:4c:d7:04:1c"
    end
    m.vm.provision :file, source: "user-data/services-02.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/flatcar-vagrant && mv /tmp/vagrantfile-user-data /var/lib/flatcar-vagrant/vagrantfile-user-data"
  end

  config.vm.define "services-03" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.63.103", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "production-services-03"
      override.vm.network :private_network, id: "lab", ip: "192.168.63.103", mac: "2652b9887949"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.63.103", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "26:52:b9:88:79:49"
    end
    m.vm.provision :file, source: "user-data/services-03.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/flatcar-vagrant && mv /tmp/vagrantfile-user-data /var/lib/flatcar-vagrant/vagrantfile-user-data"
  end

  config.vm.define "worker-01" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.63.104", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "production-worker-01"
      override.vm.network :private_network, id: "lab", ip: "192.168.63.104", mac: "825b2e134eee"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.63.104", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "82:5b:2e:13:4e:ee"
    end
    m.vm.provision :file, source: "user-data/worker-01.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/flatcar-vagrant && mv /tmp/vagrantfile-user-data /var/lib/flatcar-vagrant/vagrantfile-user-data"
  end

  config.vm.define "worker-02" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.63.105", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "production-worker-02"
      override.vm.network :private_network, id: "lab", ip: "192.168.63.105", mac: "b2c07a85dc4f"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.63.105", libvirt__network_name: "cclab-production", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "b2:c0:7a:85:dc:4f"
    end
    m.vm.provision :file, source: "user-data/worker-02.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/flatcar-vagrant && mv /tmp/vagrantfile-user-data /var/lib/flatcar-vagrant/vagrantfile-user-data"
  end
end

`

exports[`test/render/snapshot.test.ts > TAP > small × coreos > user-data/core-01.yaml 1`] = `
#cloud-config
hostname: core-01
coreos:
  units:
    - name: etcd2.service
      command: start
    - name: fleet.service
      command: start
  etcd2:
    name: core-01
    advertise_client_urls: http://192.168.61.101:2379
    initial_advertise_peer_urls: http://192.168.61.101:2380
    listen_client_urls: http://0.0.0.0:2379,http://0.0.0.0:4001
    listen_peer_urls: http://192.168.61.101:2380
    initial_cluster: core-01=http://192.168.61.101:2380,core-02=http://192.168.61.102:2380,core-03=http://192.168.61.103:2380
    initial_cluster_state: new
    initial_cluster_token: cclab-small
  fleet:
    public_ip: 192.168.61.101
    etcd_servers: http://127.0.0.1:2379

`

exports[`test/render/snapshot.test.ts > TAP > small × coreos > user-data/core-02.yaml 1`] = `
#cloud-config
hostname: core-02
coreos:
  units:
    - name: etcd2.service
      command: start
    - name: fleet.service
      command: start
  etcd2:
    name: core-02
    advertise_client_urls: http://192.168.61.102:2379
    initial_advertise_peer_urls: http://192.168.61.102:2380
    listen_client_urls: http://0.0.0.0:2379,http://0.0.0.0:4001
    listen_peer_urls: http://192.168.61.102:2380
    initial_cluster: core-01=http://192.168.61.101:2380,core-02=http://192.168.61.102:2380,core-03=http://192.168.61.103:2380
    initial_cluster_state: new
    initial_cluster_token: cclab-small
  fleet:
    public_ip: 192.168.61.102
    etcd_servers: http://127.0.0.1:2379

`

exports[`test/render/snapshot.test.ts > TAP > small × coreos > user-data/core-03.yaml 1`] = `
#cloud-config
hostname: core-03
coreos:
  units:
    - name: etcd2.service
      command: start
    - name: fleet.service
      command: start
  etcd2:
    name: core-03
    advertise_client_urls: http://192.168.61.103:2379
    initial_advertise_peer_urls: http://192.168.61.103:2380
    listen_client_urls: http://0.0.0.0:2379,http://0.0.0.0:4001
    listen_peer_urls: http://192.168.61.103:2380
    initial_cluster: core-01=http://192.168.61.101:2380,core-02=http://192.168.61.102:2380,core-03=http://192.168.61.103:2380
    initial_cluster_state: new
    initial_cluster_token: cclab-small
  fleet:
    public_ip: 192.168.61.103
    etcd_servers: http://127.0.0.1:2379

`

exports[`test/render/snapshot.test.ts > TAP > small × coreos > Vagrantfile 1`] = `
# -*- mode: ruby -*-
# vi: set ft=ruby :
#
# Lab "small" ("small", "coreos" "stable"), generated by cclab "0.0.0-test".
# Regenerate it with cclab rather than editing it: \`cclab up\` refuses a lab whose options changed.

Vagrant.require_version ">= 2.2.5"

Vagrant.configure("2") do |config|
  # Vagrant's insecure key, as coreos-vagrant and Flatcar's boxes expect.
  config.ssh.insert_key = false
  config.vm.box = "coreos-stable"
  config.vm.box_check_update = false
  config.vm.synced_folder ".", "/vagrant", disabled: true

  config.vm.provider :virtualbox do |vb|
    # Container Linux has no guest additions and no vboxsf.
    vb.check_guest_additions = false
    vb.functional_vboxsf = false
    vb.linked_clone = true
    vb.memory = 1024
    vb.cpus = 1
  end

  config.vm.provider :libvirt do |lv|
    lv.driver = "kvm"
    lv.memory = 1024
    lv.cpus = 1
    lv.graphics_type = "none"
    lv.video_type = "none"
    lv.management_network_name = "cclab-small-mgmt"
    lv.management_network_address = "192.168.121.0/24"
    lv.default_prefix = "cclab-small-"
  end

  config.vm.provider :parallels do |prl|
    prl.check_guest_tools = false
    prl.functional_psf = false
    prl.linked_clone = true
    prl.memory = 1024
    prl.cpus = 1
  end

  config.vm.define "core-01" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.61.101", libvirt__network_name: "cclab-small", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "small-core-01"
      override.vm.network :private_network, id: "lab", ip: "192.168.61.101", mac: "3afcf4b16fe4"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.61.101", libvirt__network_name: "cclab-small", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "3a:fc:f4:b1:6f:e4"
    end
    m.vm.provision :file, source: "user-data/core-01.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/coreos-vagrant && mv /tmp/vagrantfile-user-data /var/lib/coreos-vagrant/vagrantfile-user-data"
  end

  config.vm.define "core-02" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.61.102", libvirt__network_name: "cclab-small", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "small-core-02"
      override.vm.network :private_network, id: "lab", ip: "192.168.61.102", mac: "2afb293966ad"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.61.102", libvirt__network_name: "cclab-small", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "2a:fb:29:39:66:ad"
    end
    m.vm.provision :file, source: "user-data/core-02.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/coreos-vagrant && mv /tmp/vagrantfile-user-data /var/lib/coreos-vagrant/vagrantfile-user-data"
  end

  config.vm.define "core-03" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.61.103", libvirt__network_name: "cclab-small", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "small-core-03"
      override.vm.network :private_network, id: "lab", ip: "192.168.61.103", mac: "aa487c00e4e8"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.61.103", libvirt__network_name: "cclab-small", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "aa:48:7c:00:e4:e8"
    end
    m.vm.provision :file, source: "user-data/core-03.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/coreos-vagrant && mv /tmp/vagrantfile-user-data /var/lib/coreos-vagrant/vagrantfile-user-data"
  end
end

`

exports[`test/render/snapshot.test.ts > TAP > small × flatcar > user-data/core-01.yaml 1`] = `
#cloud-config
hostname: core-01
write_files:
  - path: /opt/cclab/install-fleetd.sh
    permissions: "0755"
    owner: root
    content: |
      #!/bin/bash
      # Installs fleetd and fleetctl into /opt/bin from the release tarball named by FLEET_URL,
      # checking FLEET_SHA256 when it is set. Run once by fleet-install.service.
      set -euo pipefail
      [ -x /opt/bin/fleetd ] && exit 0
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      curl --fail --silent --show-error --location --retry 5 --output "$tmp/fleet.tar.gz" "$FLEET_URL"
      if [ -n "\${FLEET_SHA256:-}" ]; then
        echo "$FLEET_SHA256  $tmp/fleet.tar.gz" | sha256sum --check --strict -
      fi
      tar -xzf "$tmp/fleet.tar.gz" -C "$tmp"
      for bin in fleetd fleetctl; do
        found=$(find "$tmp" -type f -name "$bin" | head -n 1)
        [ -n "$found" ] || { echo "no $bin in $FLEET_URL" >&2; exit 1; }
        install -D -m 0755 "$found" "/opt/bin/$bin"
      done
coreos:
  units:
    - name: etcd-member.service
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="ETCD_IMAGE_TAG=v3.5.16"
            Environment="ETCD_NAME=core-01"
            Environment="ETCD_ENABLE_V2=true"
            Environment="ETCD_ADVERTISE_CLIENT_URLS=http://192.168.61.101:2379"
            Environment="ETCD_INITIAL_ADVERTISE_PEER_URLS=http://192.168.61.101:2380"
            Environment="ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001"
            Environment="ETCD_LISTEN_PEER_URLS=http://192.168.61.101:2380"
            Environment="ETCD_INITIAL_CLUSTER=core-01=http://192.168.61.101:2380,core-02=http://192.168.61.102:2380,core-03=http://192.168.61.103:2380"
            Environment="ETCD_INITIAL_CLUSTER_STATE=new"
            Environment="ETCD_INITIAL_CLUSTER_TOKEN=cclab-small"
    - name: fleet-install.service
      content: |
        [Unit]
        Description=Install fleetd (fleet is not part of Flatcar)
        Wants=network-online.target
        After=network-online.target
        ConditionPathExists=!/opt/bin/fleetd

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/opt/cclab/install-fleetd.sh
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz"
    - name: fleet.service
      content: |
        [Unit]
        Description=fleet daemon
        Wants=fleet-install.service etcd-member.service
        After=fleet-install.service etcd-member.service

        [Service]
        ExecStart=/opt/bin/fleetd
        Restart=always
        RestartSec=10s

        [Install]
        WantedBy=multi-user.target
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_PUBLIC_IP=192.168.61.101"
            Environment="FLEET_ETCD_SERVERS=http://127.0.0.1:2379"

`

exports[`test/render/snapshot.test.ts > TAP > small × flatcar > user-data/core-02.yaml 1`] = `
#cloud-config
hostname: core-02
write_files:
  - path: /opt/cclab/install-fleetd.sh
    permissions: "0755"
    owner: root
    content: |
      #!/bin/bash
      # Installs fleetd and fleetctl into /opt/bin from the release tarball named by FLEET_URL,
      # checking FLEET_SHA256 when it is set. Run once by fleet-install.service.
      set -euo pipefail
      [ -x /opt/bin/fleetd ] && exit 0
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      curl --fail --silent --show-error --location --retry 5 --output "$tmp/fleet.tar.gz" "$FLEET_URL"
      if [ -n "\${FLEET_SHA256:-}" ]; then
        echo "$FLEET_SHA256  $tmp/fleet.tar.gz" | sha256sum --check --strict -
      fi
      tar -xzf "$tmp/fleet.tar.gz" -C "$tmp"
      for bin in fleetd fleetctl; do
        found=$(find "$tmp" -type f -name "$bin" | head -n 1)
        [ -n "$found" ] || { echo "no $bin in $FLEET_URL" >&2; exit 1; }
        install -D -m 0755 "$found" "/opt/bin/$bin"
      done
coreos:
  units:
    - name: etcd-member.service
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="ETCD_IMAGE_TAG=v3.5.16"
            Environment="ETCD_NAME=core-02"
            Environment="ETCD_ENABLE_V2=true"
            Environment="ETCD_ADVERTISE_CLIENT_URLS=http://192.168.61.102:2379"
            Environment="ETCD_INITIAL_ADVERTISE_PEER_URLS=http://192.168.61.102:2380"
            Environment="ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001"
            Environment="ETCD_LISTEN_PEER_URLS=http://192.168.61.102:2380"
            Environment="ETCD_INITIAL_CLUSTER=core-01=http://192.168.61.101:2380,core-02=http://192.168.61.102:2380,core-03=http://192.168.61.103:2380"
            Environment="ETCD_INITIAL_CLUSTER_STATE=new"
            Environment="ETCD_INITIAL_CLUSTER_TOKEN=cclab-small"
    - name: fleet-install.service
      content: |
        [Unit]
        Description=Install fleetd (fleet is not part of Flatcar)
        Wants=network-online.target
        After=network-online.target
        ConditionPathExists=!/opt/bin/fleetd

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/opt/cclab/install-fleetd.sh
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz"
    - name: fleet.service
      content: |
        [Unit]
        Description=fleet daemon
        Wants=fleet-install.service etcd-member.service
        After=fleet-install.service etcd-member.service

        [Service]
        ExecStart=/opt/bin/fleetd
        Restart=always
        RestartSec=10s

        [Install]
        WantedBy=multi-user.target
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_PUBLIC_IP=192.168.61.102"
            Environment="FLEET_ETCD_SERVERS=http://127.0.0.1:2379"

`

exports[`test/render/snapshot.test.ts > TAP > small × flatcar > user-data/core-03.yaml 1`] = `
#cloud-config
hostname: core-03
write_files:
  - path: /opt/cclab/install-fleetd.sh
    permissions: "0755"
    owner: root
    content: |
      #!/bin/bash
      # Installs fleetd and fleetctl into /opt/bin from the release tarball named by FLEET_URL,
      # checking FLEET_SHA256 when it is set. Run once by fleet-install.service.
      set -euo pipefail
      [ -x /opt/bin/fleetd ] && exit 0
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      curl --fail --silent --show-error --location --retry 5 --output "$tmp/fleet.tar.gz" "$FLEET_URL"
      if [ -n "\${FLEET_SHA256:-}" ]; then
        echo "$FLEET_SHA256  $tmp/fleet.tar.gz" | sha256sum --check --strict -
      fi
      tar -xzf "$tmp/fleet.tar.gz" -C "$tmp"
      for bin in fleetd fleetctl; do
        found=$(find "$tmp" -type f -name "$bin" | head -n 1)
        [ -n "$found" ] || { echo "no $bin in $FLEET_URL" >&2; exit 1; }
        install -D -m 0755 "$found" "/opt/bin/$bin"
      done
coreos:
  units:
    - name: etcd-member.service
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="ETCD_IMAGE_TAG=v3.5.16"
            Environment="ETCD_NAME=core-03"
            Environment="ETCD_ENABLE_V2=true"
            Environment="ETCD_ADVERTISE_CLIENT_URLS=http://192.168.61.103:2379"
            Environment="ETCD_INITIAL_ADVERTISE_PEER_URLS=http://192.168.61.103:2380"
            Environment="ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001"
            Environment="ETCD_LISTEN_PEER_URLS=http://192.168.61.103:2380"
            Environment="ETCD_INITIAL_CLUSTER=core-01=http://192.168.61.101:2380,core-02=http://192.168.61.102:2380,core-03=http://192.168.61.103:2380"
            Environment="ETCD_INITIAL_CLUSTER_STATE=new"
            Environment="ETCD_INITIAL_CLUSTER_TOKEN=cclab-small"
    - name: fleet-install.service
      content: |
        [Unit]
        Description=Install fleetd (fleet is not part of Flatcar)
        Wants=network-online.target
        After=network-online.target
        ConditionPathExists=!/opt/bin/fleetd

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/opt/cclab/install-fleetd.sh
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_URL=https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz"
    - name: fleet.service
      content: |
        [Unit]
        Description=fleet daemon
        Wants=fleet-install.service etcd-member.service
        After=fleet-install.service etcd-member.service

        [Service]
        ExecStart=/opt/bin/fleetd
        Restart=always
        RestartSec=10s

        [Install]
        WantedBy=multi-user.target
      enable: true
      command: start
      drop_ins:
        - name: 20-cclab.conf
          content: |
            [Service]
            Environment="FLEET_PUBLIC_IP=192.168.61.103"
            Environment="FLEET_ETCD_SERVERS=http://127.0.0.1:2379"

`

exports[`test/render/snapshot.test.ts > TAP > small × flatcar > Vagrantfile 1`] = `
# -*- mode: ruby -*-
# vi: set ft=ruby :
#
# Lab "small" ("small", "flatcar" "stable"), generated by cclab "0.0.0-test".
# Regenerate it with cclab rather than editing it: \`cclab up\` refuses a lab whose options changed.

Vagrant.require_version ">= 2.2.5"

Vagrant.configure("2") do |config|
  # Vagrant's insecure key, as coreos-vagrant and Flatcar's boxes expect.
  config.ssh.insert_key = false
  config.vm.box = "flatcar-stable"
  config.vm.box_url = "https://stable.release.flatcar-linux.net/amd64-usr/current/flatcar_production_vagrant.json"
  config.vm.box_check_update = false
  config.vm.synced_folder ".", "/vagrant", disabled: true

  config.vm.provider :virtualbox do |vb|
    # Container Linux has no guest additions and no vboxsf.
    vb.check_guest_additions = false
    vb.functional_vboxsf = false
    vb.linked_clone = true
    vb.memory = 1024
    vb.cpus = 1
  end

  config.vm.provider :libvirt do |lv|
    lv.driver = "kvm"
    lv.memory = 1024
    lv.cpus = 1
    lv.graphics_type = "none"
    lv.video_type = "none"
    lv.management_network_name = "cclab-small-mgmt"
    lv.management_network_address = "192.168.121.0/24"
    lv.default_prefix = "cclab-small-"
  end

  config.vm.provider :parallels do |prl|
    prl.check_guest_tools = false
    prl.functional_psf = false
    prl.linked_clone = true
    prl.memory = 1024
    prl.cpus = 1
  end

  config.vm.define "core-01" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.61.101", libvirt__network_name: "cclab-small", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "small-core-01"
      override.vm.network :private_network, id: "lab", ip: "192.168.61.101", mac: "3afcf4b16fe4"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.61.101", libvirt__network_name: "cclab-small", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "3a:fc:f4:b1:6f:e4"
    end
    m.vm.provision :file, source: "user-data/core-01.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/flatcar-vagrant && mv /tmp/vagrantfile-user-data /var/lib/flatcar-vagrant/vagrantfile-user-data"
  end

  config.vm.define "core-02" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.61.102", libvirt__network_name: "cclab-small", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "small-core-02"
      override.vm.network :private_network, id: "lab", ip: "192.168.61.102", mac: "2afb293966ad"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.61.102", libvirt__network_name: "cclab-small", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "2a:fb:29:39:66:ad"
    end
    m.vm.provision :file, source: "user-data/core-02.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/flatcar-vagrant && mv /tmp/vagrantfile-user-data /var/lib/flatcar-vagrant/vagrantfile-user-data"
  end

  config.vm.define "core-03" do |m|
    # No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant's own
    # hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).
    m.vm.network :private_network, id: "lab", ip: "192.168.61.103", libvirt__network_name: "cclab-small", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"
    # The lab NIC gets the MAC cclab recorded for the machine (VirtualBox's form: 12 hex digits).
    m.vm.provider :virtualbox do |vb, override|
      vb.name = "small-core-03"
      override.vm.network :private_network, id: "lab", ip: "192.168.61.103", mac: "aa487c00e4e8"
    end
    m.vm.provider :libvirt do |lv, override|
      override.vm.network :private_network, id: "lab", ip: "192.168.61.103", libvirt__network_name: "cclab-small", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "aa:48:7c:00:e4:e8"
    end
    m.vm.provision :file, source: "user-data/core-03.yaml", destination: "/tmp/vagrantfile-user-data"
    m.vm.provision :shell, privileged: true, inline: "mkdir -p /var/lib/flatcar-vagrant && mv /tmp/vagrantfile-user-data /var/lib/flatcar-vagrant/vagrantfile-user-data"
  end
end

`
