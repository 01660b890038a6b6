// The e2e scenarios. Each is a list of named steps run in order (a failed step skips the rest of
// its scenario) and a cleanup that always runs. Steps get the run context (see run.mjs):
//   ctx.inNs(argv, opts)    run a command inside the test network namespace
//   ctx.cclab(args, opts)   `node bin/cclab.js …` inside the namespace (CCLAB_HOME, VAGRANT_HOME set)
//   ctx.vagrant(project, args, opts)
//   ctx.http(url)           GET from inside the namespace; resolves the body
//   ctx.upTimeoutMs(n)      our own deadline for booting n VMs
//   ctx.flatcarStandin      path of the Flatcar stand-in image (scenarios with needsFlatcarStandin)
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, waitFor } from './lib/proc.mjs';

export const E2E_DIR = new URL('.', import.meta.url).pathname.replace(/\/$/, '');
const BOX = 'cclab-test/debian';

class AssertionFailed extends Error {}

function assert(cond, message) {
  if (!cond) throw new AssertionFailed(message);
}

/** fleet machines registered in etcd's v2 store, as fleetd writes them. */
async function fleetMachines(ctx, endpoint) {
  const body = await ctx.http(`${endpoint}/v2/keys/_coreos.com/fleet/machines?recursive=true`);
  const nodes = JSON.parse(body).node?.nodes ?? [];
  return nodes.flatMap((dir) => (dir.nodes ?? []).filter((n) => n.key.endsWith('/object')).map((n) => JSON.parse(n.value)));
}

async function expectFleet(ctx, endpoint, expected) {
  // expected: [{ ip, metadata }]
  const machines = await waitFor(`${expected.length} fleet machines at ${endpoint}`, async () => {
    const got = await fleetMachines(ctx, endpoint);
    return got.length >= expected.length ? got : undefined;
  }, { timeoutMs: 180_000 });
  assert(machines.length === expected.length, `expected ${expected.length} fleet machines, got ${machines.length}: ${JSON.stringify(machines)}`);
  for (const want of expected) {
    const m = machines.find((x) => x.PublicIP === want.ip);
    assert(m, `no fleet machine with PublicIP ${want.ip} (got ${machines.map((x) => x.PublicIP).join(', ')}; a NAT address means public_ip did not reach fleetd)`);
    assert(/^[0-9a-f]{32}$/.test(m.ID), `fleet machine ${want.ip} has ID ${m.ID}, not a machine-id`);
    assert(JSON.stringify(m.Metadata) === JSON.stringify(want.metadata), `fleet machine ${want.ip} has metadata ${JSON.stringify(m.Metadata)}, expected ${JSON.stringify(want.metadata)}`);
  }
  assert(new Set(machines.map((m) => m.ID)).size === machines.length, 'two VMs share a machine-id');
  ctx.say(`fleet: ${machines.map((m) => `${m.ID.slice(0, 8)}... ${m.PublicIP} ${Object.entries(m.Metadata).map(([k, v]) => `${k}=${v}`).join(',')}`).join('; ')}`);
}

async function expectEtcdMember(ctx, endpoint, name) {
  const health = await waitFor(`etcd at ${endpoint}`, async () => JSON.parse(await ctx.http(`${endpoint}/health`)).health === 'true', { timeoutMs: 180_000 });
  assert(health, 'etcd is not healthy');
  const members = JSON.parse(await ctx.http(`${endpoint}/v2/members`)).members;
  assert(members.length === 1 && members[0].name === name, `expected the single member ${name}, got ${JSON.stringify(members)}`);
}

/**
 * A dev lab (etcd-01 + worker-01 at .101/.102) just booted: `cclab check` is healthy, and
 * independently, one etcd member, both machines in fleet with their roles, the worker's proxy.
 */
function healthyDevSteps(lab, subnet) {
  return [
    [`cclab check ${lab} is healthy`, async (ctx) => {
      const r = await ctx.cclab(['check', lab], { timeoutMs: 300_000, check: false });
      assert(r.code === 0, `cclab check exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
      ctx.say(r.stdout.trim().split('\n').slice(0, 12).join('\n'));
    }],
    ['etcd member, and fleet sees both machines with their private IPs and roles', async (ctx) => {
      await expectEtcdMember(ctx, `http://${subnet}.101:2379`, 'etcd-01');
      await expectFleet(ctx, `http://${subnet}.101:2379`, [
        { ip: `${subnet}.101`, metadata: { role: 'etcd' } },
        { ip: `${subnet}.102`, metadata: { role: 'worker' } },
      ]);
    }],
    ['the etcd proxy on worker-01 answers on its 127.0.0.1:2379 (cclab ssh)', async (ctx) => {
      const { stdout } = await ctx.cclab(['ssh', lab, 'worker-01', '--', 'curl', '-s', 'http://127.0.0.1:2379/v2/members'], { timeoutMs: 120_000 });
      assert(stdout.includes('"name":"etcd-01"'), `worker-01's 127.0.0.1:2379 answered: ${stdout}`);
    }],
  ];
}

// ---------------------------------------------------------------------------------------------
// plain: the test box under plain Vagrant, with the hand-written lab in test/e2e/plain/ (CoreOS
// mode, dev architecture). Needs no cclab code: proves the box and the stand-ins.

function plainScenario(name, machines, { os = 'coreos', reload = false, serial = 'file' } = {}) {
  const withWorker = machines.includes('worker-01');
  const etcdUnit = os === 'coreos' ? 'etcd2.service' : 'etcd-member.service';
  let project;
  return {
    name,
    needsCclab: false,
    vms: machines.length,
    description: `plain Vagrant, test/e2e/plain/Vagrantfile, ${os} mode: ${machines.join(' + ')}${reload ? ', then a reboot' : ''}`,
    async setup(ctx) {
      const port = await ctx.freePort();
      project = ctx.vagrantProject(name, join(E2E_DIR, 'plain'), {
        CCLAB_E2E_MACHINES: machines.join(','),
        ...(serial === 'file' ? { CCLAB_E2E_LOG_DIR: ctx.host.logDir } : {}),
        CCLAB_E2E_DOCKER_PORT: String(port),
        CCLAB_E2E_OS: os,
      });
      project.dockerPort = port;
    },
    steps: [
      [`vagrant up ${machines.join(' ')}`, (ctx) => ctx.vagrant(project, ['up'], { timeoutMs: ctx.upTimeoutMs(machines.length), boot: true })],
      ['etcd member answers on 192.168.59.101:2379', (ctx) => expectEtcdMember(ctx, 'http://192.168.59.101:2379', 'etcd-01')],
      ['Docker API through the forwarded port (docker-tcp.socket)', async (ctx) => {
        const url = `http://127.0.0.1:${project.dockerPort}`;
        await waitFor(`Docker /_ping at ${url}`, async () => (await ctx.http(`${url}/_ping`)) === 'OK', { timeoutMs: 180_000 });
        const version = JSON.parse(await ctx.http(`${url}/version`));
        assert(version.Version && version.ApiVersion, `unexpected /version: ${JSON.stringify(version)}`);
        ctx.say(`Docker ${version.Version} (API ${version.ApiVersion}) via 127.0.0.1:${project.dockerPort}`);
      }],
      ...(withWorker
        ? [['etcd proxy on worker-01 answers on its 127.0.0.1:2379', async (ctx) => {
            const out = await waitFor('the proxy on worker-01', async () => {
              const { stdout } = await ctx.vagrant(project, ['ssh', 'worker-01', '-c', 'curl -s http://127.0.0.1:2379/v2/members; echo; curl -s http://127.0.0.1:2379/v2/config/local/proxy'], { timeoutMs: 120_000 });
              return stdout.includes('"name":"etcd-01"') ? stdout : undefined;
            }, { timeoutMs: 180_000, intervalMs: 5_000 });
            assert(out.includes('"endpoints":["http://192.168.59.101:2379"]'), `worker-01's etcd is not a proxy to etcd-01: ${out}`);
          }]]
        : []),
      ['fleet machines registered with their private addresses', (ctx) => expectFleet(ctx, 'http://192.168.59.101:2379', [
        { ip: '192.168.59.101', metadata: { role: 'etcd' } },
        ...(withWorker ? [{ ip: '192.168.59.102', metadata: { role: 'worker' } }] : []),
      ])],
      ...(os === 'flatcar'
        ? [['Flatcar mode: fleetd uploaded to /opt/bin, the CoreOS-only units stay inert', async (ctx) => {
            const { stdout } = await ctx.vagrant(project, ['ssh', 'etcd-01', '-c',
              'stat -c "%a %n" /opt/bin/fleetd; systemctl show -p ExecStart --value fleet.service | grep -o "path=[^ ;]*"; ' +
              'systemctl is-active etcd-member.service fleet.service; systemctl is-active etcd2.service || true; ' +
              'systemctl show -p ConditionResult --value fleet-install.service'], { timeoutMs: 120_000 });
            const lines = stdout.trim().split('\n').map((l) => l.trim());
            assert(lines[0] === '755 /opt/bin/fleetd', `fleetd not installed as /opt/bin/fleetd 0755: ${stdout}`);
            assert(lines[1] === 'path=/opt/bin/fleetd', `fleet.service does not run /opt/bin/fleetd: ${stdout}`);
            assert(lines[2] === 'active' && lines[3] === 'active', `etcd-member/fleet not active: ${stdout}`);
            assert(lines[4] === 'inactive', `etcd2.service is not inert in Flatcar mode: ${stdout}`);
            assert(lines[5] === 'no', `fleet-install.service ran although /opt/bin/fleetd exists: ${stdout}`);
          }]]
        : []),
      ...(reload
        ? [[`reboot (vagrant reload): the user-data is applied again and ${etcdUnit} is back`, async (ctx) => {
            await ctx.vagrant(project, ['reload'], { timeoutMs: ctx.upTimeoutMs(machines.length), boot: true });
            await expectEtcdMember(ctx, 'http://192.168.59.101:2379', 'etcd-01');
            const { stdout } = await ctx.vagrant(project, ['ssh', 'etcd-01', '-c', `systemctl is-active ${etcdUnit}; cat /run/systemd/system/etcd2.service.d/20-cloudinit.conf 2>/dev/null | grep -c ETCD_ || true; systemctl is-enabled ${etcdUnit} || true`], { timeoutMs: 120_000 });
            const [state, dropinLines, enabled] = stdout.trim().split('\n');
            assert(state === 'active', `${etcdUnit} after reboot: ${stdout}`);
            if (os === 'coreos') {
              // /run is empty after a reboot and etcd2 is not enabled: it runs, with its drop-in,
              // only because the user-data was applied again at boot.
              assert(Number(dropinLines) >= 8, `etcd2's cloud-config drop-in was not rewritten at boot: ${stdout}`);
              assert(enabled === 'disabled', `etcd2.service is ${enabled}: it must not be enabled (Container Linux does not enable it)`);
            }
          }]]
        : []),
      ['vagrant destroy -f', (ctx) => ctx.vagrant(project, ['destroy', '-f'], { timeoutMs: 300_000 })],
    ],
    async cleanup(ctx) {
      if (project) await ctx.vagrant(project, ['destroy', '-f'], { timeoutMs: 300_000, check: false });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// cclab scenarios: the product, end to end, on the test box.

/** `cclab up` waits for its health checks after the boot (default --timeout 5m). */
const HEALTH_WAIT_MS = 6 * 60_000;
const COMMON_UP = ['--provider', 'libvirt', '--box', BOX, '--libvirt-driver', 'qemu', '--memory', '1024', '--cpus', '1'];

function labGone(name) {
  return async (ctx) => {
    const domains = (await ctx.host.lines(['list', '--all', '--name'])).filter((d) => d.startsWith(`cclab-${name}-`) || d.startsWith(`${name}_`));
    assert(domains.length === 0, `domains of lab ${name} left: ${domains.join(', ')}`);
    const networks = (await ctx.host.lines(['net-list', '--all', '--name'])).filter((n) => n === `cclab-${name}` || n.startsWith(`cclab-${name}-`));
    assert(networks.length === 0, `libvirt networks of lab ${name} left: ${networks.join(', ')}`);
    const dir = join(ctx.cclabHome, 'labs', name);
    assert(!existsSync(dir), `lab directory ${dir} left`);
  };
}

/** Runs cclab's docker-env through bash's eval, as a user would, then `script`; returns stdout. */
function withDockerEnv(ctx, lab, script, opts = {}) {
  const bash = `set -euo pipefail\neval "$(node "$CCLAB_JS" docker-env ${lab})"\n${script}`;
  return ctx.inNs(['bash', '-c', bash], { timeoutMs: 300_000, ...opts });
}

function laptopScenario() {
  const lab = 'laptop';
  return {
    name: 'laptop',
    needsCclab: true,
    vms: 1,
    description: 'a newcomer’s cclab up laptop (no provider, driver or network named), Docker through docker-env, cclab down',
    steps: [
      // As on a fresh host: nothing names the provider, libvirt's driver or a network (only the test
      // box stands in for Flatcar's image); cclab finds libvirt, sees that this host's KVM cannot
      // run a guest, and says so.
      ['a newcomer’s cclab up laptop: libvirt and emulation chosen, and said', async (ctx) => {
        const r = await ctx.cclab(['up', lab, '--box', BOX], {
          timeoutMs: ctx.upTimeoutMs(1) + HEALTH_WAIT_MS,
          boot: true,
          unsetEnv: ['VAGRANT_DEFAULT_PROVIDER', 'LIBVIRT_DEFAULT_URI'],
        });
        const first = r.stderr.split('\n')[0];
        assert(/^Using provider libvirt, the first usable here \(virtualbox: /.test(first), `first line of up: ${first}`);
        const emulation = /^warning: KVM cannot run a guest here \(a test guest under KVM .*\): the machines run under QEMU's software emulation/m.exec(r.stderr);
        assert(emulation, `no warning that KVM cannot run a guest:\n${r.stderr.split('\n').slice(0, 8).join('\n')}`);
        ctx.say(first);
        ctx.say(emulation[0]);
      }],
      // The laptop's default: the Docker API with TLS on 2376 (docker.tls), docker-machine's variables.
      ['eval "$(cclab docker-env laptop)" sets DOCKER_TLS_VERIFY=1, DOCKER_HOST to 127.0.0.1 and DOCKER_CERT_PATH', async (ctx) => {
        const { stdout } = await withDockerEnv(
          ctx,
          lab,
          'printf "%s|%s|%s|%s\\n" "${DOCKER_HOST-}" "${DOCKER_TLS_VERIFY-unset}" "${DOCKER_CERT_PATH-unset}" "${CCLAB_ACTIVE_DOCKERD-unset}"; ls "$DOCKER_CERT_PATH"',
        );
        const [line, ...files] = stdout.trim().split('\n');
        const [host, tls, cert, active] = line.split('|');
        assert(/^tcp:\/\/127\.0\.0\.1:\d+$/.test(host), `DOCKER_HOST is "${host}"`);
        assert(tls === '1', `DOCKER_TLS_VERIFY must be 1 (got "${tls}")`);
        assert(cert.endsWith(`/labs/${lab}/docker-certs`), `DOCKER_CERT_PATH is "${cert}"`);
        assert(active === lab, `CCLAB_ACTIVE_DOCKERD is "${active}"`);
        for (const f of ['ca.pem', 'cert.pem', 'key.pem']) assert(files.includes(f), `${f} is missing from DOCKER_CERT_PATH (${files.join(' ')})`);
        ctx.say(`DOCKER_HOST=${host} DOCKER_TLS_VERIFY=${tls} DOCKER_CERT_PATH=${cert}`);
      }],
      ['the Docker API refuses a client without the lab’s certificate', async (ctx) => {
        const { stdout } = await withDockerEnv(ctx, lab, 'DOCKER_TLS_VERIFY= docker version --format "{{.Server.Version}}" 2>&1 && echo ACCEPTED || echo REFUSED');
        assert(stdout.trim().endsWith('REFUSED'), `plain HTTP to the TLS port was not refused: ${stdout.trim()}`);
      }],
      ['docker version answers', async (ctx) => {
        const { stdout } = await withDockerEnv(ctx, lab, 'docker version --format "{{.Server.Version}} {{.Server.APIVersion}}"');
        assert(/^\d+\.\d+/.test(stdout.trim()), `docker version printed "${stdout.trim()}"`);
        ctx.say(`server: ${stdout.trim()}`);
      }],
      ['docker import of a busybox rootfs, then docker run', async (ctx) => {
        const tarball = await ctx.busyboxRootfs();
        await withDockerEnv(ctx, lab, `docker import "${tarball}" cclab-e2e/busybox:1 >/dev/null`);
        const { stdout } = await withDockerEnv(ctx, lab, 'docker run --rm cclab-e2e/busybox:1 /bin/busybox echo cclab-e2e-ok');
        assert(stdout.trim() === 'cclab-e2e-ok', `docker run printed "${stdout.trim()}"`);
      }],
      ['cclab down laptop', (ctx) => ctx.cclab(['down', lab], { timeoutMs: 300_000 })],
      ['nothing of lab laptop is left', labGone(lab)],
    ],
    async cleanup(ctx) {
      await ctx.cclab(['down', lab], { timeoutMs: 300_000, check: false });
    },
  };
}

function devScenario(os) {
  const lab = os === 'coreos' ? 'dev' : 'devflatcar';
  const subnet = os === 'coreos' ? '192.168.57' : '192.168.60';
  // Flatcar mode also turns Docker's TCP API on (TLS, the default) on every machine: one boot shows
  // that another machine of the lab cannot use it.
  const extra = os === 'flatcar' ? ['--fleetd', join(E2E_DIR, 'box', 'fleetd-standin'), '--docker-tcp'] : [];
  const etcdUnit = os === 'coreos' ? 'etcd2' : 'etcd-member';
  return {
    name: os === 'coreos' ? 'dev' : 'dev-flatcar',
    needsCclab: true,
    vms: 2,
    description: `cclab up dev --workers 1 (${os} mode), check healthy${os === 'coreos' ? ', etcdctl, snapshot save, kill a worker, snapshot restore' : ''}, stop etcd, check names it, cclab down`,
    steps: [
      [`cclab up ${lab} --workers 1 --os ${os}`, (ctx) => ctx.cclab(['up', 'dev', ...(lab === 'dev' ? [] : ['--name', lab]), '--workers', '1', ...COMMON_UP, '--os', os, '--subnet', `${subnet}.0/24`, ...extra], { timeoutMs: ctx.upTimeoutMs(2) + HEALTH_WAIT_MS, boot: true })],
      ...healthyDevSteps(lab, subnet),
      ['each machine is named by its user-data (the Vagrantfile sets no hostname)', async (ctx) => {
        for (const m of ['etcd-01', 'worker-01']) {
          const { stdout } = await ctx.cclab(['ssh', lab, m, '--', 'hostname'], { timeoutMs: 120_000 });
          assert(stdout.trim() === m, `hostname on ${m} is ${JSON.stringify(stdout.trim())}`);
        }
      }],
      ...(os === 'flatcar'
        ? [['the Docker API of etcd-01 (TLS, 2376) refuses worker-01, which has no client certificate', async (ctx) => {
            const url = `${subnet}.101:2376/version`;
            const { stdout } = await ctx.cclab(['ssh', lab, 'worker-01', '--', 'sh', '-c',
              `curl -s -k --max-time 20 https://${url}; echo " https_exit=$?"; curl -s --max-time 20 http://${url}; echo " http_exit=$?"`], { timeoutMs: 120_000 });
            // dockerd with --tlsverify ends the handshake of a client without a certificate (curl 35/56);
            // plain HTTP on the TLS port gets "Client sent an HTTP request to an HTTPS server".
            assert(/https_exit=\d+/.test(stdout) && !/https_exit=0\b/.test(stdout),
              `worker-01 completed a TLS request to etcd-01's Docker API without a client certificate:\n${stdout}`);
            assert(!/ApiVersion/.test(stdout), `worker-01 got a Docker API answer from etcd-01:\n${stdout}`);
            ctx.say(stdout.trim().replace(/\n/g, ' | '));
          }]]
        : []),
      ...(os === 'coreos' ? experimentSteps(lab) : []),
      [`stop ${etcdUnit} on etcd-01 (cclab ssh)`, (ctx) => ctx.cclab(['ssh', lab, 'etcd-01', '--', 'sudo', 'systemctl', 'stop', etcdUnit], { timeoutMs: 120_000 })],
      [`cclab check ${lab} fails and names etcd on etcd-01`, async (ctx) => {
        const r = await ctx.cclab(['check', lab], { timeoutMs: 300_000, check: false });
        assert(r.code === 6, `cclab check exited ${r.code} (expected 6, unhealthy):\n${r.stdout}\n${r.stderr}`);
        const text = `${r.stdout}\n${r.stderr}`;
        assert(/etcd-01/.test(text) && /etcd/i.test(text.replace(/etcd-01/g, '')), `cclab check does not name etcd on etcd-01:\n${text}`);
        ctx.say(text.trim().split('\n').slice(0, 12).join('\n'));
      }],
      [`cclab down ${lab}`, (ctx) => ctx.cclab(['down', lab], { timeoutMs: 300_000 })],
      [`nothing of lab ${lab} is left`, labGone(lab)],
    ],
    async cleanup(ctx) {
      await ctx.cclab(['down', lab], { timeoutMs: 300_000, check: false });
    },
  };
}

/**
 * The guide's experiments on a booted dev lab (CoreOS mode: etcd v2 API): a key through `cclab
 * etcdctl`, a snapshot of both machines, a second write, the plug pulled on worker-01 (`cclab
 * check` names it and says it was killed), then the snapshot restored: worker-01 runs again, the
 * lab is healthy, and the key holds what it held when the snapshot was taken.
 */
function experimentSteps(lab) {
  const etcdctl = (ctx, args) => ctx.cclab(['etcdctl', lab, '--', ...args], { timeoutMs: 120_000 });
  return [
    ['cclab etcdctl: set a key through etcd-01 (etcd v2 API)', async (ctx) => {
      await etcdctl(ctx, ['set', '/cclab/e2e', 'before-snapshot']);
      const { stdout } = await etcdctl(ctx, ['get', '/cclab/e2e']);
      assert(stdout.trim() === 'before-snapshot', `etcdctl get printed ${JSON.stringify(stdout)}`);
    }],
    [`cclab snapshot ${lab} save base (both machines)`, async (ctx) => {
      await ctx.cclab(['snapshot', lab, 'save', 'base'], { timeoutMs: 600_000 });
      const { stdout } = await ctx.cclab(['snapshot', lab, 'list', '--json'], { timeoutMs: 120_000 });
      const [snap] = JSON.parse(stdout).snapshots;
      assert(snap?.name === 'base' && snap.missing.length === 0 && snap.machines.length === 2, `snapshot list: ${stdout}`);
    }],
    ['the key is changed after the snapshot', (ctx) => etcdctl(ctx, ['set', '/cclab/e2e', 'after-snapshot'])],
    [`cclab kill ${lab} worker-01: check is unhealthy and names the killed machine`, async (ctx) => {
      await ctx.cclab(['kill', lab, 'worker-01'], { timeoutMs: 300_000 });
      const st = JSON.parse((await ctx.cclab(['status', lab, '--json', '--no-health'], { timeoutMs: 120_000 })).stdout);
      const w = st.machines.find((m) => m.name === 'worker-01');
      assert(w.state === 'shutoff' && w.killedAt, `worker-01 after kill: ${JSON.stringify(w)}`);
      const r = await ctx.cclab(['check', lab], { timeoutMs: 300_000, check: false });
      const text = `${r.stdout}\n${r.stderr}`;
      assert(r.code === 6, `cclab check exited ${r.code} (expected 6):\n${text}`);
      assert(/worker-01 was powered off by `cclab kill`/.test(text), `check does not say worker-01 was killed:\n${text}`);
      assert(/^etcd: healthy/m.test(r.stdout), `etcd-01 should be healthy:\n${text}`);
      ctx.say(r.stdout.trim().split('\n').slice(0, 14).join('\n'));
    }],
    [`cclab snapshot ${lab} restore base: both machines back, healthy, the key as it was`, async (ctx) => {
      const r = await ctx.cclab(['snapshot', lab, 'restore', 'base', '--timeout', '5m'], { timeoutMs: 900_000, check: false });
      assert(r.code === 0, `restore exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
      const { stdout } = await etcdctl(ctx, ['get', '/cclab/e2e']);
      assert(stdout.trim() === 'before-snapshot', `after the restore the key holds ${JSON.stringify(stdout.trim())}`);
      const st = JSON.parse((await ctx.cclab(['status', lab, '--json', '--no-health'], { timeoutMs: 120_000 })).stdout);
      assert(st.machines.every((m) => m.state === 'running' && m.killedAt === null), `machines after the restore: ${JSON.stringify(st.machines)}`);
    }],
  ];
}

// ---------------------------------------------------------------------------------------------
// dev-ignition: cclab's Flatcar-on-libvirt path. The lab boots the Flatcar stand-in image
// (box/build-flatcar-standin.sh) added as the Vagrant box flatcar-stable by `cclab box add`, and each
// machine gets its Ignition config through fw_cfg, not Vagrant user-data.

/** The body of Vagrant's insecure public key, as installed with Vagrant. */
function insecureKeyBody() {
  const gems = '/usr/share/rubygems-integration/all/gems';
  const dir = readdirSync(gems).find((d) => /^vagrant-\d/.test(d) && existsSync(join(gems, d, 'keys', 'vagrant.pub')));
  assert(dir, `Vagrant's insecure public key not found under ${gems}`);
  return readFileSync(join(gems, dir, 'keys', 'vagrant.pub'), 'utf8').trim().split(/\s+/)[1];
}

/** Removes the box `cclab box add` made, from the shared test VAGRANT_HOME (check: false). */
function removeFlatcarBox(ctx) {
  return ctx.inNs(['vagrant', 'box', 'remove', 'flatcar-stable', '--provider', 'libvirt', '--all', '--force'], { timeoutMs: 120_000, check: false });
}

/**
 * An sshd inside the test namespace on its 127.0.0.1, letting root in with a key of its own: the
 * "other host" of a lab run over qemu+ssh (it reaches the namespace's own libvirtd, the only one
 * this machine can run). Its host key goes into root's known hosts, as a user's remote libvirt
 * host would be; stop() stops it by PID and takes that line out again.
 */
async function startNamespaceSshd(ctx) {
  const dir = mkdtempSync(join(ctx.runDir, 'libvirt-host-sshd-'));
  const key = join(dir, 'id_ed25519');
  await ctx.inNs(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')], { timeoutMs: 30_000 });
  await ctx.inNs(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key], { timeoutMs: 30_000 });
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${key}.pub`));
  const port = await ctx.freePort();
  const pidFile = join(dir, 'sshd.pid');
  writeFileSync(join(dir, 'sshd_config'), [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${dir}/host_key`, `AuthorizedKeysFile ${dir}/authorized_keys`, `PidFile ${pidFile}`,
    'UsePAM no', 'StrictModes no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'PermitRootLogin prohibit-password', 'LogLevel ERROR', '',
  ].join('\n'));
  // sshd's privilege-separation directory, made at boot on a real system.
  const madeRunSshd = !existsSync('/run/sshd');
  if (madeRunSshd) mkdirSync('/run/sshd', { mode: 0o755 });
  await ctx.inNs(['/usr/sbin/sshd', '-f', join(dir, 'sshd_config'), '-E', join(dir, 'sshd.log')], { timeoutMs: 30_000 });
  const pid = Number(await waitFor('sshd pid file', async () => (existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() || undefined : undefined), { timeoutMs: 10_000, intervalMs: 200 }));
  const knownHosts = '/root/.ssh/known_hosts';
  const line = `[127.0.0.1]:${port} ${readFileSync(join(dir, 'host_key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')}\n`;
  const hadSshDir = existsSync('/root/.ssh');
  const hadKnownHosts = existsSync(knownHosts);
  mkdirSync('/root/.ssh', { recursive: true, mode: 0o700 });
  appendFileSync(knownHosts, line, { mode: 0o600 });
  return {
    uri: `qemu+ssh://root@127.0.0.1:${port}/system?keyfile=${key}`,
    stop() {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      if (existsSync(knownHosts)) {
        const rest = readFileSync(knownHosts, 'utf8').split(line).join('');
        if (rest === '' && !hadKnownHosts) rmSync(knownHosts);
        else writeFileSync(knownHosts, rest);
      }
      if (!hadSshDir && readdirSync('/root/.ssh').length === 0) rmSync('/root/.ssh', { recursive: true });
      rmSync(dir, { recursive: true, force: true });
      if (madeRunSshd) rmSync('/run/sshd', { recursive: true, force: true });
    },
  };
}

function devIgnitionScenario() {
  const lab = 'dev';
  const subnet = '192.168.61';
  const machines = ['etcd-01', 'worker-01'];
  /** The lab runs "remotely": over qemu+ssh through an sshd in the namespace (see startNamespaceSshd). */
  let libvirtHost;
  const ssh = (ctx, machine, script, opts = {}) => ctx.cclab(['ssh', lab, machine, '--', 'sh', '-c', script], { timeoutMs: 120_000, ...opts });
  return {
    name: 'dev-ignition',
    needsCclab: true,
    needsFlatcarStandin: true,
    vms: 2,
    description: 'cclab box add of the Flatcar stand-in image, cclab up dev --workers 1 --os flatcar on libvirt over qemu+ssh (Ignition via fw_cfg, copied to the libvirt host), checks through SSH, cclab down',
    async setup(ctx) {
      // The test VAGRANT_HOME outlives runs: the box is added afresh every time.
      await removeFlatcarBox(ctx);
      libvirtHost = await startNamespaceSshd(ctx);
      ctx.say(`libvirt host: ${libvirtHost.uri}`);
    },
    steps: [
      ['cclab box add --image <Flatcar stand-in> --channel stable --version 1.0.0', async (ctx) => {
        const { stdout } = await ctx.cclab(['box', 'add', '--image', ctx.flatcarStandin, '--channel', 'stable', '--version', '1.0.0', '--json'], { timeoutMs: 600_000 });
        let out;
        try {
          out = JSON.parse(stdout);
        } catch (err) {
          assert(false, `cclab box add --json printed no JSON (${err.message}):\n${stdout}`);
        }
        assert(JSON.stringify(out).includes('flatcar-stable'), `cclab box add --json does not name the box flatcar-stable: ${stdout}`);
        const { stdout: boxes } = await ctx.inNs(['vagrant', 'box', 'list'], { timeoutMs: 120_000 });
        assert(/^flatcar-stable\s+\(libvirt, 1\.0\.0[,)]/m.test(boxes), `vagrant box list has no flatcar-stable (libvirt, 1.0.0):\n${boxes}`);
        ctx.say(`box: ${boxes.split('\n').find((l) => l.startsWith('flatcar-stable'))}`);
      }],
      [`cclab up ${lab} --workers 1 --os flatcar --provider libvirt --libvirt-uri qemu+ssh://root@127.0.0.1:PORT/system (box flatcar-stable, Ignition)`, async (ctx) => {
        const r = await ctx.cclab(['up', lab, '--workers', '1', '--provider', 'libvirt', '--os', 'flatcar', '--libvirt-driver', 'qemu', '--memory', '1024', '--cpus', '1',
          '--subnet', `${subnet}.0/24`, '--fleetd', join(E2E_DIR, 'box', 'fleetd-standin'), '--libvirt-uri', libvirtHost.uri], { timeoutMs: ctx.upTimeoutMs(2) + HEALTH_WAIT_MS, boot: true });
        assert(/^Copying 2 Ignition configs to 127\.0\.0\.1:\/var\/tmp\/cclab-dev…$/m.test(r.stderr), `up did not copy the Ignition configs to the libvirt host:\n${r.stderr.split('\n').slice(0, 12).join('\n')}`);
        const vagrantfile = readFileSync(join(ctx.cclabHome, 'labs', lab, 'Vagrantfile'), 'utf8');
        assert(vagrantfile.includes(`lv.uri = "${libvirtHost.uri}"`), 'the Vagrantfile does not set lv.uri');
        for (const m of machines) assert(existsSync(`/var/tmp/cclab-${lab}/${m}.ign`), `/var/tmp/cclab-${lab}/${m}.ign is missing on the libvirt host`);
      }],
      ...healthyDevSteps(lab, subnet),
      [`cclab ssh ${lab} etcd-01 -- cat /etc/hostname`, async (ctx) => {
        const { stdout } = await ctx.cclab(['ssh', lab, 'etcd-01', '--', 'cat', '/etc/hostname'], { timeoutMs: 120_000 });
        assert(stdout.trim() === 'etcd-01', `/etc/hostname on etcd-01 is "${stdout.trim()}"`);
      }],
      ["SSH uses the lab's own key (ssh/id_ed25519, 0600); no Vagrant insecure key in the guests", async (ctx) => {
        const keyFile = join(ctx.cclabHome, 'labs', lab, 'ssh', 'id_ed25519');
        assert(existsSync(keyFile), `the lab has no ${keyFile}`);
        const mode = statSync(keyFile).mode & 0o777;
        assert(mode === 0o600, `${keyFile} has mode ${mode.toString(8)}, expected 600`);
        const { stdout: pub } = await ctx.inNs(['ssh-keygen', '-y', '-f', keyFile], { timeoutMs: 30_000 });
        const labKey = pub.trim().split(/\s+/)[1];
        const insecure = insecureKeyBody();
        for (const machine of machines) {
          const { stdout } = await ssh(ctx, machine,
            `echo "user=$(id -un)"; cat ~/.ssh/authorized_keys ~/.ssh/authorized_keys.d/* 2>/dev/null; echo "insecure-key-files=$(sudo grep -rlF '${insecure}' /home /root /etc 2>/dev/null | wc -l)"`);
          assert(/^user=core$/m.test(stdout), `cclab ssh to ${machine} is not user core: ${stdout}`);
          assert(stdout.includes(labKey), `${machine}'s authorized keys do not hold the lab's key:\n${stdout}`);
          assert(!stdout.split('\n').some((l) => l.includes(insecure) && !l.startsWith('insecure-key-files=')), `${machine} authorizes Vagrant's insecure key:\n${stdout}`);
          assert(/^insecure-key-files=0$/m.test(stdout), `${machine} holds Vagrant's insecure key in files: ${stdout}`);
        }
      }],
      ['Ignition, not Vagrant, configured the machines (fw_cfg config, files stage, networkd file, no flatcar-vagrant)', async (ctx) => {
        const script = [
          'echo "fw_cfg=$(test -e /sys/firmware/qemu_fw_cfg/by_name/opt/org.flatcar-linux/config/raw && echo present || echo absent)"',
          'echo "files_stage=$(sudo journalctl -o cat -u cclab-test-fixture-ignition.service | grep -c \'files: files passed\')"',
          'echo "ignition_result=$(sudo test -e /etc/.ignition-result.json && echo present || echo absent)"',
          'echo "flatcar_vagrant=$(test -e /var/lib/flatcar-vagrant && echo present || echo absent)"',
          'echo "preset=$(tr \'\\n\' \' \' </etc/systemd/system-preset/20-ignition.preset)"',
          'echo "lab_nic=$(networkctl status eth1 2>/dev/null | awk \'/Network File:/ {print $3}\') $(ip -4 -o addr show eth1 | awk \'{print $4}\' | tr \'\\n\' \' \')"',
          'echo "fleetd=$(stat -c %a /opt/bin/fleetd 2>&1)"',
        ].join('; ');
        for (const [i, machine] of machines.entries()) {
          const { stdout } = await ssh(ctx, machine, script);
          const got = Object.fromEntries(stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]));
          assert(got.fw_cfg === 'present', `${machine} has no fw_cfg entry opt/org.flatcar-linux/config: ${stdout}`);
          assert(got.files_stage === '1', `${machine}: the journal of cclab-test-fixture-ignition.service does not show Ignition's files stage passing once: ${stdout}`);
          assert(got.ignition_result === 'present', `${machine} has no /etc/.ignition-result.json: ${stdout}`);
          assert(got.flatcar_vagrant === 'absent', `${machine} has /var/lib/flatcar-vagrant (Vagrant user-data): ${stdout}`);
          assert(/\benable etcd-member\.service\b/.test(got.preset ?? '') && /\benable fleet\.service\b/.test(got.preset ?? ''), `${machine}: Ignition's preset does not enable etcd-member and fleet: ${stdout}`);
          assert((got.lab_nic ?? '').startsWith(`/etc/systemd/network/00-cclab.network ${subnet}.${101 + i}/24`), `${machine}'s lab NIC eth1 is not configured by Ignition's 00-cclab.network with ${subnet}.${101 + i}/24: ${stdout}`);
          assert(got.fleetd === '755', `${machine}: /opt/bin/fleetd (gzip data: URL in the config) is not 0755: ${stdout}`);
          ctx.say(`${machine}: ${stdout.trim().split('\n').join('; ')}`);
        }
      }],
      [`cclab down ${lab}`, (ctx) => ctx.cclab(['down', lab], { timeoutMs: 300_000 })],
      [`nothing of lab ${lab} is left (its Ignition configs on the libvirt host too)`, async (ctx) => {
        await labGone(lab)(ctx);
        assert(!existsSync(`/var/tmp/cclab-${lab}`), `/var/tmp/cclab-${lab} is left on the libvirt host`);
      }],
    ],
    async cleanup(ctx) {
      await ctx.cclab(['down', lab], { timeoutMs: 300_000, check: false });
      await removeFlatcarBox(ctx);
      libvirtHost?.stop();
      rmSync(`/var/tmp/cclab-${lab}`, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// small-3: the guide's small cluster with three etcd members, booted from cclab's Ignition on the
// Flatcar stand-in, and the experiments on it: pull the plug on a member (quorum kept), resume,
// snapshot and restore. Three VMs under emulation, about 8 minutes: in the default run since
// snapshots of a running cluster are taken with its machines suspended (the restore it proves).

function smallThreeScenario() {
  const lab = 'small';
  const subnet = '192.168.62';
  const members = ['core-01', 'core-02', 'core-03'];
  const etcdctl = (ctx, args) => ctx.cclab(['etcdctl', lab, '--', ...args], { timeoutMs: 120_000 });
  // Healthy checks may wait for the cluster to settle; the one after the kill polls to a short deadline.
  const check = async (ctx, timeout = '60s') => {
    const r = await ctx.cclab(['check', lab, '--timeout', timeout], { timeoutMs: 300_000, check: false });
    return { ...r, text: `${r.stdout}\n${r.stderr}` };
  };
  return {
    name: 'small-3',
    needsCclab: true,
    needsFlatcarStandin: true,
    vms: 3,
    description: 'cclab up small --members 3 --os flatcar (Ignition), etcdctl member list, kill core-02 (quorum kept), up resumes it, snapshot save/restore, down',
    async setup(ctx) {
      await removeFlatcarBox(ctx);
    },
    steps: [
      ['cclab box add --image <Flatcar stand-in> --channel stable', (ctx) => ctx.cclab(['box', 'add', '--image', ctx.flatcarStandin, '--channel', 'stable', '--version', '1.0.0'], { timeoutMs: 600_000 })],
      [`cclab up ${lab} --members 3 --os flatcar --provider libvirt`, (ctx) =>
        ctx.cclab(['up', lab, '--members', '3', '--provider', 'libvirt', '--os', 'flatcar', '--libvirt-driver', 'qemu', '--memory', '1024', '--cpus', '1',
          '--subnet', `${subnet}.0/24`, '--fleetd', join(E2E_DIR, 'box', 'fleetd-standin')], { timeoutMs: ctx.upTimeoutMs(3) + HEALTH_WAIT_MS, boot: true })],
      [`cclab check ${lab}: healthy, 3 members`, async (ctx) => {
        const r = await check(ctx);
        assert(r.code === 0 && /^etcd: healthy/m.test(r.stdout), `cclab check exited ${r.code}:\n${r.text}`);
        for (const m of members) assert(new RegExp(`✓ etcd member ${m} `).test(r.stdout), `no healthy member ${m}:\n${r.text}`);
      }],
      [`cclab etcdctl ${lab} -- member list: 3 members`, async (ctx) => {
        const { stdout } = await etcdctl(ctx, ['member', 'list']);
        const started = stdout.split('\n').filter((l) => /, started, core-0[123], /.test(l));
        assert(started.length === 3, `member list:\n${stdout}`);
      }],
      [`cclab kill ${lab} core-02: etcd degraded, quorum kept, core-02 named`, async (ctx) => {
        await ctx.cclab(['kill', lab, 'core-02'], { timeoutMs: 300_000 });
        const r = await check(ctx, '15s');
        assert(r.code === 6, `cclab check exited ${r.code} (expected 6):\n${r.text}`);
        assert(/^etcd: degraded — core-02 is down; quorum kept \(2 of 3 members up\)$/m.test(r.stdout), `etcd verdict:\n${r.text}`);
        assert(/core-02 was powered off by `cclab kill`/.test(r.stdout), `core-02 not named as killed:\n${r.text}`);
        ctx.say(r.stdout.trim().split('\n').slice(-4).join('\n'));
      }],
      [`cclab up ${lab} brings core-02 back; healthy`, async (ctx) => {
        await ctx.cclab(['up', lab], { timeoutMs: ctx.upTimeoutMs(1) + HEALTH_WAIT_MS, boot: true });
        const r = await check(ctx);
        assert(r.code === 0, `cclab check exited ${r.code}:\n${r.text}`);
      }],
      [`cclab snapshot ${lab} save base, a key written, restore base: the key is gone, healthy`, async (ctx) => {
        await ctx.cclab(['snapshot', lab, 'save', 'base'], { timeoutMs: 900_000 });
        await etcdctl(ctx, ['put', 'cclab-e2e', 'after-snapshot']);
        const before = await etcdctl(ctx, ['get', 'cclab-e2e', '--print-value-only']);
        assert(before.stdout.trim() === 'after-snapshot', `get before the restore: ${before.stdout}`);
        const r = await ctx.cclab(['snapshot', lab, 'restore', 'base', '--timeout', '5m'], { timeoutMs: 900_000, check: false });
        assert(r.code === 0, `restore exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
        const after = await etcdctl(ctx, ['get', 'cclab-e2e', '--print-value-only']);
        assert(after.stdout.trim() === '', `after the restore the key holds ${JSON.stringify(after.stdout)}`);
      }],
      [`cclab down ${lab}`, (ctx) => ctx.cclab(['down', lab], { timeoutMs: 300_000 })],
      [`nothing of lab ${lab} is left`, labGone(lab)],
    ],
    async cleanup(ctx) {
      await ctx.cclab(['down', lab], { timeoutMs: 300_000, check: false });
      await removeFlatcarBox(ctx);
    },
  };
}

/** Always last: the run left no domain, network or lab directory behind (checked before teardown). */
export const leftoversScenario = {
  name: 'leftovers',
  needsCclab: false,
  vms: 0,
  description: 'no domains, no lab networks, no lab directories left',
  steps: [
    ['no domains, lab networks or lab directories left', async (ctx) => {
      const now = await ctx.host.snapshot();
      const domains = now.domains.filter((d) => !ctx.host.before.domains.includes(d));
      assert(domains.length === 0, `domains left: ${domains.join(', ')}`);
      const networks = now.networks.filter((n) => !ctx.host.before.networks.includes(n));
      assert(networks.length === 0, `libvirt networks left: ${networks.join(', ')}`);
      const labs = join(ctx.cclabHome, 'labs');
      const left = existsSync(labs) ? readdirSync(labs).filter((n) => !n.startsWith('.')) : [];
      assert(left.length === 0, `lab directories left in ${labs}: ${left.join(', ')}`);
    }],
  ],
  async cleanup() {},
};

export const SCENARIOS = {
  plain: plainScenario('plain', ['etcd-01'], { reload: true }),
  // Leaves the serial console on libvirt's pty, like cclab's labs: exercises run.mjs's console capture.
  'plain-dev': plainScenario('plain-dev', ['etcd-01', 'worker-01'], { serial: 'pty' }),
  'plain-flatcar': plainScenario('plain-flatcar', ['etcd-01'], { os: 'flatcar' }),
  laptop: laptopScenario(),
  dev: devScenario('coreos'),
  'dev-flatcar': devScenario('flatcar'),
  'dev-ignition': devIgnitionScenario(),
  'small-3': smallThreeScenario(),
};

/** Run when no --scenario is given: every cclab path (laptop, CoreOS, Flatcar on a box of one's own, Flatcar's image with Ignition) and the guide's small cluster of three members with the experiments. */
export const DEFAULT_SCENARIOS = ['laptop', 'dev', 'dev-flatcar', 'dev-ignition', 'small-3'];

/** A static busybox rootfs tarball (Debian's busybox-static), cached in the e2e cache. */
export async function buildBusyboxRootfs(cacheDir, log) {
  const dir = join(cacheDir, 'busybox');
  const tarball = join(dir, 'busybox-rootfs.tar');
  if (existsSync(tarball)) return tarball;
  mkdirSync(dir, { recursive: true });
  let deb = readdirSync(dir).find((f) => /^busybox-static_.*\.deb$/.test(f));
  if (!deb) {
    await run(['apt-get', 'download', 'busybox-static'], { cwd: dir, log, timeoutMs: 300_000 });
    deb = readdirSync(dir).find((f) => /^busybox-static_.*\.deb$/.test(f));
  }
  const script = [
    'set -eu',
    'rm -rf x rootfs && mkdir -p x rootfs/bin',
    `dpkg-deb -x "${deb}" x`,
    'cp x/bin/busybox rootfs/bin/busybox',
    'ln -s busybox rootfs/bin/sh',
    'tar -C rootfs -cf busybox-rootfs.tar.tmp .',
    'mv busybox-rootfs.tar.tmp busybox-rootfs.tar',
    'rm -rf x rootfs',
  ].join('\n');
  await run(['bash', '-c', script], { cwd: dir, log, timeoutMs: 120_000 });
  return tarball;
}
