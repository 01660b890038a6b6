/**
 * Names and versions of the boxes `cclab box add` makes, and the URLs it takes Flatcar's QEMU image
 * from. Pure: other code (preflight, doctor, up) uses flatcarBoxName() and boxAddCommand() to name
 * the box a libvirt lab needs and the command that adds it.
 */
import { CHANNELS } from '../lab/types.js';

/** Flatcar's channels, as the release servers name them (`<channel>.release.flatcar-linux.net`). */
export const FLATCAR_CHANNELS = CHANNELS.flatcar;

/** The QEMU image's file name on the release server; `.bz2` is appended on releases that only have that. */
export const QEMU_IMAGE = 'flatcar_production_qemu_image.img';

/**
 * The Vagrant box cclab adds for a Flatcar channel: `flatcar-<channel>`, the name a lab's
 * Vagrantfile asks for by default (src/lab/defaults.ts: `<os>-<channel>`).
 */
export function flatcarBoxName(channel: string): string {
  return `flatcar-${channel}`;
}

/** The command that adds that box, exactly as a hint prints it: `cclab box add --channel stable`. */
export function boxAddCommand(channel: string): string {
  return `cclab box add --channel ${channel}`;
}

/** The release server's directory of all versions of the channel (amd64). */
export function defaultReleaseBase(channel: string): string {
  return `https://${channel}.release.flatcar-linux.net/amd64-usr/`;
}

/** A Flatcar release version: `4230.2.3` (build.branch.patch). */
export const FLATCAR_VERSION = /^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})$/;

export function isFlatcarVersion(text: string): boolean {
  return FLATCAR_VERSION.test(text);
}

/**
 * The release version in a `version.txt` (`FLATCAR_VERSION=4230.2.3`; quotes allowed), or
 * undefined when it has no valid one.
 */
export function parseVersionTxt(text: string): string | undefined {
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*FLATCAR_VERSION\s*=\s*["']?([^"'\s]*)["']?\s*$/.exec(line);
    if (m && isFlatcarVersion(m[1]!)) return m[1];
  }
  return undefined;
}

/**
 * The box version of an image that came without a release version (`--image` without
 * `--version`): `0.0.<the first 12 hex digits of its SHA-512, as a decimal number>`, e.g.
 * `0.0.187650849562347`. The same image always gets the same version.
 *
 * Why this shape: Vagrant reads box versions with Ruby's Gem::Version. A version with letters in
 * it (`0.0.0-1a2b3c…`, which Gem::Version reads as `0.0.0.pre.1a2b3c…`) is a *prerelease*, and
 * prereleases never satisfy `>= 0` — the constraint `vagrant box add` uses to pick a version from
 * a catalog, and a Vagrantfile's `config.vm.box_version` default — so such a box could be neither
 * added nor used without naming its version everywhere. Digits only are a plain release version.
 * Twelve hex digits are 48 bits, an exact integer in JavaScript, and two different images collide
 * with a chance of one in 2^48. Major and minor 0 keep such a box below every real Flatcar release
 * (4230.2.3 > 0.0.x), so Vagrant never prefers it over a release added by channel.
 */
export function versionFromDigest(sha512: string): string {
  if (!/^[0-9a-f]{128}$/.test(sha512)) throw new Error(`not a SHA-512 in hex: ${sha512}`);
  return `0.0.${Number.parseInt(sha512.slice(0, 12), 16)}`;
}

/**
 * Whether Vagrant takes `version` as a plain release version (what Gem::Version accepts, without
 * letters: those make a prerelease, see versionFromDigest).
 */
export function isVagrantReleaseVersion(version: string): boolean {
  return /^[0-9]+(\.[0-9]+)*$/.test(version) && version.length <= 64;
}
