/**
 * What a new user does first: build cclab, render the dev lab with three workers, check the
 * cloud-configs. Real processes, real files, real exit codes.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ensureBuilt } from '../helpers/cli.js';
import { parseCloudConfig, REPO, run } from '../helpers/render.js';

const CLI = join(REPO, 'bin/cclab.js');

/** The environment of a user who has not configured anything for cclab or Vagrant. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const k of Object.keys(env)) if (k.startsWith('VAGRANT_') || k.startsWith('CCLAB_')) delete env[k];
  return env;
}

const cclab = (args: string[], cwd: string) => run(process.execPath, [CLI, ...args], { cwd, env: userEnv(), timeoutMs: 60_000 });

// The build is shared with the other CLI tests (written beside dist/ and renamed into place, so a
// test running the CLI meanwhile never reads half a file); `npm ci` builds the same way.
t.before(ensureBuilt);

t.test('render dev --workers 3, validate every user-data file', async (t) => {

  const dir = t.testdir({});
  const out = join(dir, 'lab');
  const render = await cclab(['render', 'dev', '--workers', '3', '--out', out], dir);
  t.equal(render.code, 0, 'cclab render exits 0', { stderr: render.stderr });
  t.same(readdirSync(out).sort(), ['Vagrantfile', 'user-data'], 'a Vagrantfile and a user-data directory');
  const userData = readdirSync(join(out, 'user-data')).sort();
  t.same(userData, ['etcd-01.yaml', 'worker-01.yaml', 'worker-02.yaml', 'worker-03.yaml'], 'four user-data files');
  const vagrantfile = readFileSync(join(out, 'Vagrantfile'), 'utf8');
  t.equal((vagrantfile.match(/^ {2}config\.vm\.define "/gm) ?? []).length, 4, 'four machines in the Vagrantfile');
  t.match(render.stdout, /^Rendered lab dev \(dev, flatcar stable, 4 machines\) for virtualbox into /, 'says what it rendered, on stdout');
  t.match(render.stdout, /user-data\/worker-03\.yaml {2}\(worker, 192\.168\.\d+\.104\)/);
  t.match(render.stderr, /Boot it with `cclab up dev --workers 3`/, 'the next step, on stderr, with the options given');
  for (const f of userData) {
    const cc = parseCloudConfig(readFileSync(join(out, 'user-data', f), 'utf8'));
    t.equal(cc.hostname, f.replace('.yaml', ''), `${f}: its machine's cloud-config`);
  }

  for (const f of userData) {
    const v = await cclab(['validate', join(out, 'user-data', f)], dir);
    t.equal(v.code, 0, `cclab validate ${f} exits 0`, { stdout: v.stdout, stderr: v.stderr });
    t.match(v.stdout + v.stderr, /0 errors/, `${f}: no errors`);
  }
  const notCloudConfig = await cclab(['validate', join(out, 'Vagrantfile')], dir);
  t.equal(notCloudConfig.code, 9, 'validate does fail: a Vagrantfile is not a cloud-config (exit 9)');
});

t.test('the CLI refuses bad labs with the documented exit codes', async (t) => {
  const dir = t.testdir({});
  const small = await cclab(['render', 'small', '--members', '12', '--out', join(dir, 's')], dir);
  t.equal(small.code, 2, 'a flag value the lab rules refuse is a usage error (exit 2), as a malformed one is');
  t.match(small.stderr, /^error: --members: small takes 3–9 members, not 12: /m);
  t.notMatch(small.stderr, /labs\/small\.yaml/, 'the flag is named, not the built-in lab file');
  t.same(readdirSync(dir), [], 'nothing written');
  const both = await cclab(['render', 'dev', '--config', 'x.yaml'], dir);
  t.equal(both.code, 2, 'a usage error exits 2');
  t.match(both.stderr, /give an architecture or --config, not both/);
  const provider = await run(process.execPath, [CLI, 'render', 'dev', '--out', join(dir, 'p')], {
    cwd: dir,
    env: { ...userEnv(), VAGRANT_DEFAULT_PROVIDER: 'libvirt' },
  });
  t.equal(provider.code, 0, `VAGRANT_DEFAULT_PROVIDER=libvirt: Flatcar's QEMU image with Ignition: ${provider.stderr}`);
  t.match(provider.stdout, /Rendered lab dev .* for libvirt as Ignition/);
  t.match(provider.stdout, /p\/ssh\/id_ed25519 {2}\(the lab’s own SSH key/);
  const key = statSync(join(dir, 'p', 'ssh', 'id_ed25519'));
  t.equal(key.mode & 0o777, 0o600, 'the private key is 0600');
  t.equal(statSync(join(dir, 'p', 'ssh')).mode & 0o777, 0o700, 'in a 0700 directory');
  const pub = readFileSync(join(dir, 'p', 'ssh', 'id_ed25519.pub'), 'utf8').trim();
  const ign = JSON.parse(readFileSync(join(dir, 'p', 'ignition', 'etcd-01.ign'), 'utf8')) as { passwd: { users: { sshAuthorizedKeys: string[] }[] } };
  t.same(ign.passwd.users[0]!.sshAuthorizedKeys, [pub], 'user core gets the lab’s key, not Vagrant’s insecure key');
  const again = await run(process.execPath, [CLI, 'render', 'dev', '--out', join(dir, 'p')], { cwd: dir, env: { ...userEnv(), VAGRANT_DEFAULT_PROVIDER: 'libvirt' } });
  t.equal(again.code, 0);
  t.equal(readFileSync(join(dir, 'p', 'ssh', 'id_ed25519.pub'), 'utf8').trim(), pub, 'rendered again: the same key (machines made with it stay reachable)');
  const vf = readFileSync(join(dir, 'p', 'Vagrantfile'), 'utf8');
  t.match(vf, 'lv.qemuargs value: "name=opt/org.flatcar-linux/config,file=" + File.expand_path("ignition/etcd-01.ign", __dir__)');
  t.notMatch(vf, /m\.vm\.provision/, 'no Vagrant provisioners: Ignition does it all');
});

t.test('render --target bare-metal from the command line', async (t) => {
  const dir = t.testdir({});
  const r = await cclab(
    ['render', 'production', '--os', 'coreos', '--target', 'bare-metal', '--subnet', '10.0.0.0/24', '--gateway', '10.0.0.1', '--dns', '10.0.0.2', '--out', 'bm'],
    dir,
  );
  t.equal(r.code, 0, { stderr: r.stderr });
  t.same(readdirSync(join(dir, 'bm')), ['user-data'], 'no Vagrantfile');
  const files = readdirSync(join(dir, 'bm/user-data')).sort();
  t.same(files, ['services-01.yaml', 'services-02.yaml', 'services-03.yaml', 'worker-01.yaml', 'worker-02.yaml']);
  const v = await cclab(['validate', '--os', 'coreos', ...files.map((f) => join('bm/user-data', f))], dir);
  t.equal(v.code, 0, 'valid for legacy CoreOS', { stdout: v.stdout, stderr: v.stderr });
});

t.test('render --target bare-metal and matchbox as Ignition, checked by cclab validate --with-ignition-validate', async (t) => {
  const dir = t.testdir({ 'macs.txt': '# machine MAC\netcd-01 52:54:00:00:00:01\nworker-01 52-54-00-00-00-02\nworker-02 5254.0000.0003\n' });
  const bm = await cclab(['render', 'dev', '--target', 'bare-metal', '--out', 'bm'], dir);
  t.equal(bm.code, 0, { stderr: bm.stderr });
  t.match(bm.stdout, /for bare metal as Ignition into bm\//);
  t.same(readdirSync(join(dir, 'bm')).sort(), ['ignition', 'ssh'], 'the configs and the lab’s own key');
  const ign = readdirSync(join(dir, 'bm/ignition')).sort();
  t.same(ign, ['etcd-01.ign', 'worker-01.ign', 'worker-02.ign']);
  const haveIv = (await run('sh', ['-c', 'command -v ignition-validate'])).code === 0;
  const v = await cclab(['validate', ...(haveIv ? ['--with-ignition-validate'] : []), ...ign.map((f) => join('bm/ignition', f))], dir);
  t.equal(v.code, 0, 'valid Ignition', { stdout: v.stdout, stderr: v.stderr });
  t.equal(v.stderr, '3 files: 0 errors, 0 warnings\n');

  const noMacs = await cclab(['render', 'dev', '--target', 'matchbox', '--matchbox-url', 'http://mb:8080', '--out', 'x'], dir);
  t.equal(noMacs.code, 2, 'missing MACs: a usage error');
  t.match(noMacs.stderr, /these machines have none: etcd-01, worker-01, worker-02/);
  const mb = await cclab(['render', 'dev', '--target', 'matchbox', '--macs', 'macs.txt', '--matchbox-url', 'http://mb:8080/', '--out', 'mb'], dir);
  t.equal(mb.code, 0, { stderr: mb.stderr });
  t.same(readdirSync(join(dir, 'mb')).sort(), ['groups', 'ignition', 'profiles', 'ssh']);
  const group = JSON.parse(readFileSync(join(dir, 'mb/groups/worker-02.json'), 'utf8')) as { profile: string; selector: { mac: string } };
  t.same(group.selector, { mac: '52:54:00:00:00:03' }, 'the MAC from --macs, normalised');
  const profile = JSON.parse(readFileSync(join(dir, `mb/profiles/${group.profile}.json`), 'utf8')) as { ignition_id: string; boot: { args: string[] } };
  t.ok(readdirSync(join(dir, 'mb/ignition')).includes(profile.ignition_id), 'the profile’s Ignition is there');
  t.ok(profile.boot.args.includes('flatcar.config.url=http://mb:8080/ignition?uuid=${uuid}&mac=${mac:hexhyp}'), 'the /ignition endpoint');

  const vb = await cclab(['render', 'dev', '--provisioning', 'ignition', '--out', 'vb'], dir);
  t.equal(vb.code, 2, 'Ignition on VirtualBox: refused');
  t.match(vb.stderr, /provisioning ignition with provider virtualbox.*1024 bytes/);
  const badUrl = await cclab(['render', 'dev', '--target', 'matchbox', '--macs', 'macs.txt', '--matchbox-url', 'http://mb:8080/?a=1 x', '--out', 'y'], dir);
  t.equal(badUrl.code, 2);
  t.match(badUrl.stderr, /--matchbox-url .* is not an http\(s\) URL/);
});
