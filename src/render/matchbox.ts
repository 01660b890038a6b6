/**
 * A matchbox data directory (poseidon/matchbox's FileStore: `profiles/`, `groups/`, `ignition/`)
 * for booting a lab's machines over the network: each machine is selected by its MAC and PXE-boots
 * Flatcar, which fetches its Ignition from matchbox's `/ignition` endpoint on first boot.
 *
 * One profile per machine, not per role: a profile names one `ignition_id`, matchbox serves `.ign`
 * files as they are (no templating), and every machine's Ignition differs (hostname, address, etcd
 * name). The profile's name still says the machine's role.
 */
import type { Lab, Machine } from '../lab/types.js';

export const MATCHBOX_DIRS = { profiles: 'profiles', groups: 'groups', ignition: 'ignition' } as const;

/** matchbox's profile JSON (docs/matchbox.md § Profiles). */
export interface MatchboxProfile {
  id: string;
  name: string;
  boot: { kernel: string; initrd: string[]; args: string[] };
  ignition_id: string;
}

/** matchbox's group JSON (docs/matchbox.md § Groups). */
export interface MatchboxGroup {
  id: string;
  name: string;
  profile: string;
  selector: { mac: string };
  metadata: Record<string, string>;
}

const KERNEL = 'flatcar_production_pxe.vmlinuz';
const INITRD = 'flatcar_production_pxe_image.cpio.gz';

/** `matchbox-url` as given (http or https, host and optional port/path; no query, fragment, spaces or quotes). */
export function checkMatchboxUrl(value: string): string | undefined {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return undefined;
  }
  if (!['http:', 'https:'].includes(u.protocol) || u.search || u.hash || u.username || u.password) return undefined;
  if (!/^[A-Za-z0-9.:/_~-]+$/.test(value)) return undefined;
  return value.replace(/\/+$/, '');
}

export function matchboxProfile(lab: Lab, m: Machine, matchboxUrl: string): MatchboxProfile {
  const base = `https://${lab.channel}.release.flatcar-linux.net/amd64-usr/current`;
  return {
    id: m.name,
    name: `${lab.name} ${m.role} ${m.name} (Flatcar ${lab.channel})`,
    boot: {
      kernel: `${base}/${KERNEL}`,
      initrd: [`${base}/${INITRD}`],
      args: [
        `initrd=${INITRD}`,
        // ${uuid} and ${mac:hexhyp} are iPXE's variables, filled in by the booting machine.
        `flatcar.config.url=${matchboxUrl}/ignition?uuid=\${uuid}&mac=\${mac:hexhyp}`,
        'flatcar.first_boot=yes',
      ],
    },
    ignition_id: `${m.name}.ign`,
  };
}

export function matchboxGroup(lab: Lab, m: Machine): MatchboxGroup {
  return {
    id: m.name,
    name: `${lab.name} ${m.name}`,
    profile: m.name,
    selector: { mac: m.mac },
    metadata: { lab: lab.name, role: m.role, ip: m.ip },
  };
}
