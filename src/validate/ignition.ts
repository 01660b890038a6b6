/**
 * Ignition config checks (pure), by the rules of Ignition's spec 3.3.0 as `ignition-validate` applies
 * them: the spec version, the shape of every field (unknown keys are warnings, wrong types errors),
 * file, directory and link paths (absolute, simplified), modes, unit and drop-in names, duplicate
 * entries, and `data:` URLs. Each diagnostic names its place as a JSON path (`$.storage.files.0.path`,
 * as ignition-validate writes it) and carries its line and column.
 */
import type { Diagnostic } from './cloudconfig.js';

/** Spec versions Flatcar stable's Ignition and Debian's ignition-validate 2.14 read. */
export const SUPPORTED_VERSIONS = ['3.0.0', '3.1.0', '3.2.0', '3.3.0'];

/* ------------------------------------------------------------------ a JSON reader that keeps places */

interface Place {
  line: number;
  column: number;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly place: Place,
  ) {
    super(message);
  }
}

/** JSON.parse, plus the place of every value (by JSON path) and every repeated key. */
function parseWithPlaces(text: string): { value: Json; places: Map<string, Place>; duplicateKeys: { path: string; place: Place }[] } {
  const places = new Map<string, Place>();
  const duplicateKeys: { path: string; place: Place }[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const here = (): Place => ({ line, column: i - lineStart + 1 });
  const fail = (message: string): never => {
    throw new JsonSyntaxError(message, here());
  };
  const ws = () => {
    for (;;) {
      const c = text[i];
      if (c === '\n') {
        i++;
        line++;
        lineStart = i;
      } else if (c === ' ' || c === '\t' || c === '\r') i++;
      else return;
    }
  };
  const str = (): string => {
    const start = i;
    i++;
    for (;;) {
      const c = text[i];
      if (c === undefined) fail('unterminated string');
      if (c === '"') break;
      if (c === '\\') i++;
      else if (c! < ' ') fail('a control character inside a string');
      i++;
    }
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      i = start;
      return fail('an invalid escape in a string');
    }
  };
  const value = (path: string, depth: number): Json => {
    if (depth > 64) fail('nested too deeply');
    ws();
    places.set(path, here());
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: { [k: string]: Json } = {};
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`expected a key string, found ${text[i] === undefined ? 'the end' : JSON.stringify(text[i])}`);
        const keyPlace = here();
        const key = str();
        ws();
        if (text[i] !== ':') fail('expected ":" after a key');
        i++;
        const sub = `${path}.${key}`;
        if (Object.hasOwn(obj, key)) duplicateKeys.push({ path: sub, place: keyPlace });
        Object.defineProperty(obj, key, { value: value(sub, depth + 1), enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return obj;
        } else fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const arr: Json[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(`${path}.${arr.length}`, depth + 1));
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return arr;
        } else fail('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (!m) return fail(c === undefined ? 'unexpected end of input' : `unexpected ${JSON.stringify(c)}`);
    i += m[0].length;
    return JSON.parse(m[0]) as Json;
  };
  const v = value('$', 0);
  ws();
  if (i < text.length) fail('unexpected text after the JSON value');
  return { value: v, places, duplicateKeys };
}

/* ------------------------------------------------------------------ the spec 3.3.0 schema */

type Field = 'string' | 'bool' | 'int' | 'strings' | Shape | [Field];
interface Shape {
  [key: string]: Field;
}

const resource: Shape = {
  source: 'string',
  compression: 'string',
  httpHeaders: [{ name: 'string', value: 'string' }],
  verification: { hash: 'string' },
};
const owner: Shape = { id: 'int', name: 'string' };
const node = { path: 'string', overwrite: 'bool', user: owner, group: owner } as const;

const SPEC_3_3: Shape = {
  ignition: {
    version: 'string',
    config: { merge: [resource], replace: resource },
    timeouts: { httpResponseHeaders: 'int', httpTotal: 'int' },
    security: { tls: { certificateAuthorities: [resource] } },
    proxy: { httpProxy: 'string', httpsProxy: 'string', noProxy: 'strings' },
  },
  kernelArguments: { shouldExist: 'strings', shouldNotExist: 'strings' },
  storage: {
    disks: [
      {
        device: 'string',
        wipeTable: 'bool',
        partitions: [
          {
            label: 'string',
            number: 'int',
            sizeMiB: 'int',
            startMiB: 'int',
            typeGuid: 'string',
            guid: 'string',
            wipePartitionEntry: 'bool',
            shouldExist: 'bool',
            resize: 'bool',
          },
        ],
      },
    ],
    raid: [{ name: 'string', level: 'string', devices: 'strings', spares: 'int', options: 'strings' }],
    filesystems: [
      {
        device: 'string',
        format: 'string',
        wipeFilesystem: 'bool',
        label: 'string',
        uuid: 'string',
        options: 'strings',
        path: 'string',
        mountOptions: 'strings',
      },
    ],
    files: [{ ...node, contents: resource, append: [resource], mode: 'int' }],
    directories: [{ ...node, mode: 'int' }],
    links: [{ ...node, target: 'string', hard: 'bool' }],
    luks: [
      {
        name: 'string',
        device: 'string',
        keyFile: resource,
        label: 'string',
        uuid: 'string',
        options: 'strings',
        wipeVolume: 'bool',
        clevis: {
          tang: [{ url: 'string', thumbprint: 'string', advertisement: 'string' }],
          tpm2: 'bool',
          threshold: 'int',
          custom: { pin: 'string', config: 'string', needsNetwork: 'bool' },
        },
      },
    ],
  },
  systemd: { units: [{ name: 'string', enabled: 'bool', mask: 'bool', contents: 'string', dropins: [{ name: 'string', contents: 'string' }] }] },
  passwd: {
    users: [
      {
        name: 'string',
        passwordHash: 'string',
        sshAuthorizedKeys: 'strings',
        uid: 'int',
        gecos: 'string',
        homeDir: 'string',
        noCreateHome: 'bool',
        primaryGroup: 'string',
        groups: 'strings',
        noUserGroup: 'bool',
        noLogInit: 'bool',
        shell: 'string',
        system: 'bool',
        shouldExist: 'bool',
      },
    ],
    groups: [{ name: 'string', gid: 'int', passwordHash: 'string', system: 'bool', shouldExist: 'bool' }],
  },
};

const UNIT_TYPES = ['service', 'socket', 'device', 'mount', 'automount', 'swap', 'target', 'path', 'timer', 'snapshot', 'slice', 'scope'];
const URL_SCHEMES = ['http', 'https', 'tftp', 's3', 'gs', 'arn', 'data'];

type Obj = { [k: string]: Json };
const isObj = (v: Json | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: Json | undefined): Json[] => (Array.isArray(v) ? v : []);

/** The version a config declares, as ignition-validate reads it first: `{"ignition": {"version": …}}`. */
function declaredVersion(root: Json): string | undefined {
  if (!isObj(root) || !isObj(root.ignition)) return undefined;
  const v = root.ignition.version;
  return typeof v === 'string' ? v : undefined;
}

/** Like path.Clean: `/a/./b/` → `/a/b`. */
function cleanPath(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return (p.startsWith('/') ? '/' : '') + parts.join('/') || (p.startsWith('/') ? '/' : '.');
}

/** Why a `data:` URL is broken, or undefined when it decodes (RFC 2397, as Ignition's dataurl package reads it). */
function dataUrlProblem(url: string): string | undefined {
  const comma = url.indexOf(',');
  if (comma < 0) return 'a data URL needs a "," before its data';
  const meta = url.slice(5, comma);
  const data = url.slice(comma + 1);
  const params = meta.split(';');
  const base64 = params[params.length - 1] === 'base64';
  if (/%(?![0-9A-Fa-f]{2})/.test(data)) return 'a "%" not followed by two hex digits in the data URL';
  if (base64) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(data);
    } catch {
      decoded = data;
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(decoded) || decoded.replace(/=+$/, '').length % 4 === 1) return 'invalid base64 data in the data URL';
  }
  if (/[\s"<>\\^`{|}]/.test(data)) return 'characters a data URL must percent-encode (spaces, quotes, braces…)';
  return undefined;
}

export interface IgnitionValidateOptions {
  /** Extra checks of cclab's own (warnings only): octal-looking modes, enabled units that cannot be enabled. */
  advice?: boolean;
}

/** Every problem of an Ignition config. */
export function validateIgnition(text: string, opts: IgnitionValidateOptions = {}): Diagnostic[] {
  const advice = opts.advice ?? true;
  const out: Diagnostic[] = [];
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '') return [{ line: 1, severity: 'error', message: 'the file is empty: an Ignition config is a JSON object with ignition.version' }];
  let parsed: ReturnType<typeof parseWithPlaces>;
  try {
    parsed = parseWithPlaces(body);
  } catch (e) {
    if (e instanceof JsonSyntaxError) return [{ line: e.place.line, column: e.place.column, severity: 'error', message: `not valid JSON: ${e.message}` }];
    throw e;
  }
  const { value: root, places, duplicateKeys } = parsed;
  const at = (path: string, severity: Diagnostic['severity'], message: string) => {
    const place = places.get(path) ?? { line: 1, column: 1 };
    out.push({ line: place.line, column: place.column, severity, message: `${path}: ${message}` });
  };

  if (!isObj(root)) {
    at('$', 'error', 'an Ignition config is a JSON object ({"ignition": {"version": "3.3.0"}, …})');
    return out;
  }
  const version = declaredVersion(root);
  if (version === undefined) {
    at(isObj(root.ignition) ? '$.ignition' : '$', 'error', 'no ignition.version: every Ignition config says its spec version (cclab writes 3.3.0)');
    return out;
  }
  if (!SUPPORTED_VERSIONS.includes(version)) {
    const why = /^[0-9]+\.[0-9]+\.[0-9]+(-experimental)?$/.test(version)
      ? version.startsWith('2.') || version.startsWith('1.')
        ? 'spec 2.x and older are read only by legacy CoreOS and old Flatcar'
        : `Flatcar stable and ignition-validate 2.14 read spec ${SUPPORTED_VERSIONS[0]}–${SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1]}`
      : 'not a spec version such as 3.3.0';
    at('$.ignition.version', 'error', `unsupported spec version "${version}": ${why}`);
    return out;
  }

  // Shapes: unknown keys (warnings), wrong types (errors, as Go's JSON decoding refuses them).
  let typeError = false;
  const walk = (v: Json, field: Field, path: string) => {
    if (v === null) return; // Go leaves a null field unset
    if (Array.isArray(field)) {
      if (!Array.isArray(v)) return void ((typeError = true), at(path, 'error', `expected a list, found ${describe(v)}`));
      v.forEach((item, n) => walk(item, field[0]!, `${path}.${n}`));
    } else if (typeof field === 'object') {
      if (!isObj(v)) return void ((typeError = true), at(path, 'error', `expected an object, found ${describe(v)}`));
      for (const [k, sub] of Object.entries(v)) {
        const spec = Object.hasOwn(field, k) ? field[k] : undefined;
        if (spec === undefined) at(`${path}.${k}`, 'warning', `unknown key "${k}" (Ignition ignores it)`);
        else walk(sub, spec, `${path}.${k}`);
      }
    } else if (field === 'strings') {
      if (!Array.isArray(v)) return void ((typeError = true), at(path, 'error', `expected a list of strings, found ${describe(v)}`));
      v.forEach((item, n) => item !== null && typeof item !== 'string' && ((typeError = true), at(`${path}.${n}`, 'error', `expected a string, found ${describe(item)}`)));
    } else if (field === 'string' && typeof v !== 'string') ((typeError = true), at(path, 'error', `expected a string, found ${describe(v)}`));
    else if (field === 'bool' && typeof v !== 'boolean') ((typeError = true), at(path, 'error', `expected true or false, found ${describe(v)}`));
    else if (field === 'int' && !(typeof v === 'number' && Number.isInteger(v))) ((typeError = true), at(path, 'error', `expected a whole number, found ${describe(v)}`));
  };
  walk(root, SPEC_3_3, '$');
  for (const d of duplicateKeys) at(d.path, 'warning', 'this key is given twice: only the last one counts');
  // ignition-validate stops at a type error (the config cannot be decoded); so does cclab.
  if (typeError) return out;

  const storage = isObj(root.storage) ? root.storage : {};
  const seenPaths = new Map<string, string>();
  for (const kind of ['files', 'directories', 'links'] as const) {
    arr(storage[kind]).forEach((entry, n) => {
      const base = `$.storage.${kind}.${n}`;
      const e = isObj(entry) ? entry : {};
      const p = typeof e.path === 'string' ? e.path : '';
      if (p === '') at(`${base}.path`, 'error', 'path not specified');
      else if (!p.startsWith('/')) at(`${base}.path`, 'error', 'path not absolute');
      else if (cleanPath(p) !== p) at(`${base}.path`, 'error', `path is not fully simplified (write ${cleanPath(p)})`);
      if (p !== '') {
        const clean = cleanPath(p);
        if (seenPaths.has(clean)) at(base, 'error', `duplicate entry defined: ${clean} is also ${seenPaths.get(clean)}`);
        else seenPaths.set(clean, base);
      }
      if (typeof e.mode === 'number') {
        if (e.mode < 0 || e.mode > 0o7777) at(`${base}.mode`, 'error', `illegal file mode ${e.mode} (modes are decimal: 0644 is 420, 0755 is 493)`);
        else if (e.mode & 0o7000) {
          const octal = /^[0-7]{3,4}$/.test(String(e.mode)) && advice ? `; ${e.mode} looks like octal ${String(e.mode).padStart(4, '0')}, which is ${parseInt(String(e.mode), 8)} in decimal` : '';
          at(`${base}.mode`, 'warning', `setuid/setgid/sticky bits are not supported in spec versions older than 3.4.0${octal}`);
        }
      }
      if (kind === 'files') {
        const resources: [string, Json | undefined][] = [[`${base}.contents`, e.contents], ...arr(e.append).map((a, k): [string, Json] => [`${base}.append.${k}`, a])];
        for (const [rp, r] of resources) checkResource(r, rp, at);
      }
      if (kind === 'links' && (typeof e.target !== 'string' || e.target === '')) at(`${base}.target`, 'error', 'a link needs a target');
    });
  }

  const systemd = isObj(root.systemd) ? root.systemd : {};
  const units = new Map<string, string>();
  arr(systemd.units).forEach((entry, n) => {
    const base = `$.systemd.units.${n}`;
    const u = isObj(entry) ? entry : {};
    const name = typeof u.name === 'string' ? u.name : '';
    const ext = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : '';
    if (!UNIT_TYPES.includes(ext) || name.startsWith('.')) at(`${base}.name`, 'error', `invalid systemd unit extension${name ? ` in "${name}"` : ' (no name)'}`);
    else if (name.includes('/')) at(`${base}.name`, 'error', `a unit name cannot contain "/" ("${name}")`);
    if (name !== '') {
      if (units.has(name)) at(base, 'error', `duplicate entry defined: unit ${name} is also ${units.get(name)}`);
      else units.set(name, base);
    }
    const dropins = new Map<string, string>();
    arr(u.dropins).forEach((d, k) => {
      const dbase = `${base}.dropins.${k}`;
      const dn = isObj(d) && typeof d.name === 'string' ? d.name : '';
      if (!dn.endsWith('.conf') || dn.includes('/')) at(`${dbase}.name`, 'error', `invalid systemd drop-in extension${dn ? ` in "${dn}"` : ' (no name)'}: drop-ins are NAME.conf`);
      if (dn !== '') {
        if (dropins.has(dn)) at(dbase, 'error', `duplicate entry defined: drop-in ${dn} is also ${dropins.get(dn)}`);
        else dropins.set(dn, dbase);
      }
    });
    if (u.enabled === true && typeof u.contents === 'string' && !/^\[Install\]\s*$/m.test(u.contents)) {
      at(`${base}.contents`, 'warning', `unit "${name}" is enabled, but has no install section so enable does nothing`);
    }
  });

  const passwd = isObj(root.passwd) ? root.passwd : {};
  for (const kind of ['users', 'groups'] as const) {
    const names = new Map<string, string>();
    arr(passwd[kind]).forEach((entry, n) => {
      const base = `$.passwd.${kind}.${n}`;
      const name = isObj(entry) && typeof entry.name === 'string' ? entry.name : '';
      if (name === '') return;
      if (names.has(name)) at(base, 'error', `duplicate entry defined: ${kind === 'users' ? 'user' : 'group'} ${name} is also ${names.get(name)}`);
      else names.set(name, base);
    });
  }

  const ign = isObj(root.ignition) ? root.ignition : {};
  if (isObj(ign.config)) {
    arr(ign.config.merge).forEach((r, n) => checkResource(r, `$.ignition.config.merge.${n}`, at));
    checkResource(ign.config.replace, '$.ignition.config.replace', at);
  }
  return out.sort((a, b) => a.line - b.line || (a.column ?? 0) - (b.column ?? 0));
}

function checkResource(r: Json | undefined, base: string, at: (path: string, severity: Diagnostic['severity'], message: string) => void): void {
  if (!isObj(r)) return;
  const source = r.source;
  if (typeof source === 'string' && source !== '') {
    let scheme: string | undefined;
    try {
      scheme = new URL(source).protocol.replace(/:$/, '');
    } catch {
      scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(source)?.[1]?.toLowerCase();
    }
    if (scheme === undefined) at(`${base}.source`, 'error', 'not a URL (Ignition takes http(s), tftp, s3, gs, arn or data: URLs)');
    else if (!URL_SCHEMES.includes(scheme)) at(`${base}.source`, 'error', `invalid url scheme "${scheme}"`);
    else if (scheme === 'data') {
      const problem = dataUrlProblem(source);
      if (problem) at(`${base}.source`, 'error', problem);
    }
  }
  if (typeof r.compression === 'string' && !['', 'gzip'].includes(r.compression)) at(`${base}.compression`, 'error', `invalid compression method "${r.compression}" (gzip, or none)`);
  if (isObj(r.verification) && typeof r.verification.hash === 'string') {
    const m = /^([a-z0-9]+)-(.*)$/.exec(r.verification.hash);
    const lengths: Record<string, number> = { sha256: 64, sha512: 128 };
    if (!m || lengths[m[1]!] === undefined) at(`${base}.verification.hash`, 'error', 'unrecognized hash function (sha256-HEX or sha512-HEX)');
    else if (!new RegExp(`^[0-9a-f]{${lengths[m[1]!]}}$`).test(m[2]!)) at(`${base}.verification.hash`, 'error', `not a ${m[1]} digest (${lengths[m[1]!]} hex digits)`);
  }
}

function describe(v: Json): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return `${typeof v === 'number' ? 'the number' : ''} ${String(v)}`.trim();
}

/** Whether a file is Ignition rather than cloud-config: by its name (.ign, .json), else by its first character. */
export function looksLikeIgnition(name: string, text: string): boolean {
  if (/\.(ign|ignition|json)$/i.test(name)) return true;
  if (/\.(ya?ml)$/i.test(name)) return false;
  return /^\uFEFF?\s*[{[]/.test(text);
}
