/**
 * Validation of cloud-config files as coreos-cloudinit reads them (pure: no I/O).
 *
 * The rules follow coreos-cloudinit's `config/*.go` (the schema, see ./schema.ts) and `config/validate/*`
 * (what `coreos-cloudinit -validate` reports), and what its two YAML decoders then do with the file:
 *  - legacy CoreOS (coreos/coreos-cloudinit up to v1.14): a go-yaml v1 fork that turns `-` into `_` in
 *    every key and silently leaves a value of the wrong type at its zero value;
 *  - Flatcar (flatcar/coreos-cloudinit, go-yaml v3 since February 2024): keys are matched exactly, so
 *    hyphenated keys are ignored without a word, and one value of the wrong type or one duplicate key
 *    makes it reject the whole file (nothing of it is applied).
 *
 * Severities kept from coreos-cloudinit: YAML syntax errors, a first line other than `#cloud-config`
 * (trailing whitespace allowed, as it trims it), invalid values (unit command, etcd2 proxy,
 * reboot_strategy, write_files encoding and permissions, locksmith window), undecodable write_files
 * content and files under /usr are errors; unrecognized keys, deprecated keys and fractions in integer
 * fields are warnings. Decided from what the decoders do:
 *  - a value of the wrong type: error on Flatcar (the file is rejected), warning on legacy CoreOS (its
 *    -validate warns and the value is dropped);
 *  - a duplicate key: error on Flatcar (rejected), warning on legacy CoreOS (the last one wins);
 *  - a hyphenated key: error on Flatcar (ignored), warning on legacy CoreOS (applied);
 *  - unquoted YAML 1.1 booleans (`enable: yes`, `on`, `off`, `y`, `n`) are valid: both decoders read them
 *    as booleans for a bool field (Flatcar's -validate warns about them, but its decoder applies them);
 *  - `proxy: on` is valid: a scalar decoded into a string field keeps its source text ("on") in both;
 *  - `permissions: 0644` unquoted works for the same reason, but YAML itself reads the integer 420:
 *    a warning says so.
 * Both decoders fail on the whole file, wherever it appears: a mapping or list used as a key ("invalid map
 * key", e.g. a template placeholder `{{NAME}}` left in) and a `!!binary` value that is not base64 — errors
 * on both targets. A `!!binary` value is checked as the bytes it decodes to (so `encoding: gzip` with
 * `!!binary`, coreos-cloudinit's own example, is valid). An empty value (`key:` with nothing or only a
 * comment) is a warning, as coreos-cloudinit's validator warns "incorrect type" for it.
 * Added from what coreos-cloudinit does when it applies a file: errors for what stops it or silently
 * has no effect (a unit without name, an invalid unit name — a name `UNIT.d/NAME.conf` is a drop-in path,
 * written as such, and only starting or enabling it fails —, a drop-in not ending in `.conf`, a command
 * on a template unit, etcd2/fleet units started on Flatcar without being provided, `manage_etc_hosts`
 * other than `localhost`, a write_files entry without path); warnings for what it skips or ignores
 * (`command`/`enable` on networkd units, drop-ins or users without name or content). The /usr check
 * looks at the cleaned path (coreos-cloudinit's prefix test on the directory also catches `/usrlocal`);
 * the discovery URL check covers etcd2 as well as etcd, and flags the deprecated public discovery service.
 */

import { posix } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Document, Pair, YAMLMap } from 'yaml';
import {
  CLOUD_CONFIG,
  CLOUD_INIT_HINTS,
  FILE_ENCODINGS,
  NETWORKD_SUFFIXES,
  UNIT_COMMANDS,
  UNIT_SUFFIXES,
  type FieldType,
  type TargetOs,
} from './schema.js';
import { brief, describeScalar, goBase64, scalarInfo, show, V3_BOOL_COMPAT, type ScalarInfo } from './yamlscalar.js';

export interface Diagnostic {
  /** 1-based line; 0 for a problem with the file as a whole (e.g. it cannot be read). */
  line: number;
  /** 1-based column, when known. */
  column?: number;
  severity: 'error' | 'warning';
  message: string;
}

export interface ValidateOptions {
  os: TargetOs;
}

export const CLOUD_CONFIG_HEADER = '#cloud-config';

interface Pos {
  line: number;
  column: number;
}

type YNode = unknown;

interface Entry {
  pair: Pair;
  key: string;
  pos: Pos | undefined;
  merged: boolean;
}

/** Units that legacy CoreOS shipped and Flatcar does not. */
const REMOVED_ON_FLATCAR: Readonly<Record<string, string>> = {
  'etcd.service': 'etcd 0.4 is not shipped in Flatcar: use etcd-member.service',
  'etcd2.service': 'etcd2 is not shipped in Flatcar: use etcd-member.service',
  'fleet.service': 'fleet is not shipped in Flatcar: install it yourself',
  'fleet.socket': 'fleet is not shipped in Flatcar: install it yourself',
};

class Checker {
  readonly diagnostics: Diagnostic[] = [];
  private readonly lc = new LineCounter();
  private doc: Document | undefined;
  private text_: string | undefined;
  /** Mappings with a mapping or list as a key (reported once, as an error, by scanDecoderFailures). */
  private readonly badKeyMaps = new Set<unknown>();

  constructor(private readonly os: TargetOs) {}

  run(text: string): Diagnostic[] {
    this.text_ = text;
    if (!this.header(text)) return this.diagnostics;
    const docs = parseAllDocuments(text, {
      version: '1.1',
      merge: false,
      uniqueKeys: false,
      prettyErrors: false,
      lineCounter: this.lc,
    });
    let syntaxErrors = false;
    for (const doc of docs) {
      for (const e of doc.errors) {
        syntaxErrors = true;
        this.add('error', this.at(e.pos[0]), `YAML syntax error: ${brief(e.message, 200)}`);
      }
      for (const w of doc.warnings) this.add('warning', this.at(w.pos[0]), `YAML: ${brief(w.message, 200)}`);
    }
    if (syntaxErrors) return this.diagnostics;
    docs.slice(1).forEach((doc) => {
      this.add(
        'warning',
        doc.range ? this.at(doc.range[0]) : undefined,
        'only the first YAML document is read: this one (after "---") is ignored',
      );
    });
    const first = docs[0];
    if (!first) return this.diagnostics;
    this.doc = first;
    this.scanDecoderFailures(first.contents);
    const root = this.deref(first.contents);
    if (root === null || root === undefined || (isScalar(root) && scalarInfo(root).kind === 'null')) {
      return this.diagnostics;
    }
    if (!isMap(root)) {
      this.add(
        'error',
        this.pos(root),
        `a cloud-config must be a mapping of keys (ssh_authorized_keys, coreos, write_files, …), found ${this.describe(root)}`,
      );
      return this.diagnostics;
    }
    this.walkStruct(root, CLOUD_CONFIG.fields, '');
    this.checkUnits(root);
    this.checkWriteFiles(root);
    this.checkUsers(root);
    this.checkDiscovery(root);
    return this.diagnostics;
  }

  // ---- header ---------------------------------------------------------------------------------

  /** Returns false when the text is not worth parsing as YAML. */
  private header(text: string): boolean {
    if (text.trim() === '') {
      this.add('error', { line: 1, column: 1 }, `file is empty: a cloud-config starts with "${CLOUD_CONFIG_HEADER}"`);
      return false;
    }
    const firstLine = (text.split('\n', 1)[0] ?? '').replace(/\s+$/, '');
    if (firstLine === CLOUD_CONFIG_HEADER) return true;
    const at = { line: 1, column: 1 };
    if (firstLine.startsWith('#!')) {
      this.add('error', at, `found a script (${JSON.stringify(cut(firstLine))}), not a cloud-config: the first line must be "${CLOUD_CONFIG_HEADER}"`);
      return false;
    }
    if (firstLine.startsWith('\uFEFF')) {
      this.add('error', at, `the file starts with a byte order mark (BOM): save it without one so that the first line is exactly "${CLOUD_CONFIG_HEADER}"`);
      return true;
    }
    this.add('error', at, `first line must be exactly "${CLOUD_CONFIG_HEADER}", found ${JSON.stringify(cut(firstLine))}`);
    return true;
  }

  // ---- what makes both Go decoders fail, wherever it is ----------------------------------------

  /**
   * coreos-cloudinit first decodes the whole document into Go maps (its validator, and Flatcar's decoder
   * into the config struct fails the same way), so two things reject the file wherever they appear, under
   * unknown keys too: a mapping or list used as a key ("invalid map key" — typically a template
   * placeholder such as `name: {{NAME}}`, which YAML reads as a mapping whose key is the mapping {NAME}),
   * and a `!!binary` value that is not valid base64. Aliases are not followed: their target is visited
   * where it is defined.
   */
  private scanDecoderFailures(top: unknown): void {
    const stack: unknown[] = [top];
    while (stack.length > 0) {
      const node = stack.pop();
      if (isMap(node)) {
        for (const pair of node.items) {
          const key = this.deref(pair.key);
          if (isMap(key) || isSeq(key)) {
            this.badKeyMaps.add(node);
            this.add('error', this.pos(pair.key), invalidKeyMessage(this.source(pair.key), isMap(key)));
          } else {
            stack.push(pair.key);
          }
          stack.push(pair.value);
        }
      } else if (isSeq(node)) {
        stack.push(...node.items);
      } else if (isScalar(node) && scalarInfo(node).binary === null) {
        this.add('error', this.pos(node), '!!binary value is not valid base64: coreos-cloudinit rejects the whole file');
      }
    }
  }

  /** The text of a node as written (cut to a readable length). */
  private source(node: unknown): string {
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    return range && this.text_ !== undefined ? cut(this.text_.slice(range[0], range[1]).replace(/\s+/g, ' ')) : '';
  }

  // ---- structure and types --------------------------------------------------------------------

  private walkStruct(map: YAMLMap, fields: Readonly<Record<string, { type: FieldType; deprecated?: (os: TargetOs) => string }>>, path: string): void {
    const seen = new Map<string, Entry>();
    for (const entry of this.entries(map)) {
      const { key, pos } = entry;
      const keyNode = this.deref(entry.pair.key);
      if (isMap(keyNode) || isSeq(keyNode)) continue; // "invalid map key", reported already
      const snake = key.replace(/-/g, '_');
      if (!entry.merged) {
        const id = this.os === 'coreos' ? snake : key;
        const earlier = seen.get(id);
        if (earlier) {
          const where = earlier.pos ? ` (first at line ${earlier.pos.line})` : '';
          if (this.os === 'flatcar') {
            this.add('error', pos, `duplicate key ${show(key)}${where}: Flatcar's coreos-cloudinit rejects the whole file`);
          } else {
            this.add('warning', pos, `duplicate key ${show(key)}${where}: the last one wins`);
          }
        }
        seen.set(id, entry);
      }
      const childPath = path ? `${path}.${snake}` : snake;
      let field = Object.hasOwn(fields, key) ? fields[key] : undefined;
      if (!field && key !== snake && Object.hasOwn(fields, snake)) {
        field = fields[snake];
        if (this.os === 'flatcar') {
          this.add(
            'error',
            pos,
            `${show(key)} is ignored by Flatcar, which only reads snake_case keys (since February 2024): write "${snake}"`,
          );
          continue; // Flatcar never looks at the value
        }
        this.add('warning', pos, `${show(key)} works on legacy CoreOS but Flatcar ignores hyphenated keys: write "${snake}"`);
      }
      if (!field) {
        this.unknownKey(key, snake, pos, path, fields);
        continue;
      }
      if (field.deprecated) this.add('warning', pos, `deprecated key "${childPath}": ${field.deprecated(this.os)}`);
      this.checkValue(entry.pair.value, field.type, childPath, pos);
    }
  }

  private unknownKey(key: string, snake: string, pos: Pos | undefined, path: string, fields: Readonly<Record<string, unknown>>): void {
    if (path === 'coreos' && snake === 'write_files') {
      this.add('warning', pos, '"write_files" does not belong under "coreos" (it is ignored there): move it to the top level');
      return;
    }
    const where = path ? ` in "${path}"` : '';
    const hint = path === '' ? CLOUD_INIT_HINTS[snake] : undefined;
    if (hint) {
      this.add('warning', pos, `unrecognized key ${show(key)}: ${hint}`);
      return;
    }
    const suggestion = closest(snake, Object.keys(fields));
    this.add('warning', pos, `unrecognized key ${show(key)}${where}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`);
  }

  private checkValue(raw: YNode, type: FieldType, path: string, keyPos: Pos | undefined): void {
    const node = this.deref(raw);
    const info = isScalar(node) ? scalarInfo(node) : undefined;
    const at = keyPos ?? this.pos(node);
    if (node === null || node === undefined || info?.kind === 'null') return this.emptyValue(path, type, at);
    if (this.badKeyMaps.has(node)) return; // the file is rejected for its key: the type does not matter
    switch (type.kind) {
      case 'string':
        if (!info) return this.typeError(path, 'a string', this.describe(node), at);
        if (type.rule && info.text !== '') {
          const problem = type.rule.check(info.text, this.os);
          if (problem) this.add(problem.severity, this.pos(node) ?? at, problem.message);
        }
        return;
      case 'int':
        if (info?.kind === 'int') return;
        if (info?.kind === 'float') {
          this.add('warning', at, `"${path}" must be an integer, found ${brief(info.text)}: coreos-cloudinit drops the fraction`);
          return;
        }
        return this.typeError(path, 'an integer', this.describe(node), at);
      case 'float':
        if (info?.kind === 'int' || info?.kind === 'float') return;
        return this.typeError(path, 'a number', this.describe(node), at);
      case 'bool':
        if (info?.kind === 'bool') return;
        if (info?.kind === 'string' && info.quoted && V3_BOOL_COMPAT.has(info.text)) {
          // go-yaml v3 turns a quoted "yes" into true for a bool field; go-yaml v1 does not.
          const message =
            this.os === 'flatcar'
              ? `"${path}" is the quoted string ${show(info.text)}: Flatcar reads it as a boolean but legacy CoreOS ignores it; write true or false without quotes`
              : `"${path}" must be a boolean, found the quoted string ${show(info.text)}: legacy CoreOS ignores the value; write true or false without quotes`;
          this.add('warning', at, message);
          return;
        }
        return this.typeError(path, 'a boolean (true or false)', this.describe(node), at);
      case 'list':
        if (!isSeq(node)) return this.typeError(path, 'a list', this.describe(node), at);
        node.items.forEach((item, i) => {
          this.checkValue(item, type.of, `${path}[${i}]`, this.pos(this.deref(item)) ?? this.pos(item));
        });
        return;
      case 'struct':
        if (!isMap(node)) return this.typeError(path, 'a mapping', this.describe(node), at);
        this.walkStruct(node, type.fields, path);
        return;
    }
  }

  /**
   * `key:` with nothing after it (or only a comment), `~`, `null`, or an empty list item. coreos-cloudinit's
   * validator warns "incorrect type" for every field (its Go decoder leaves the zero value): it is almost
   * always a value forgotten or commented out, or a section whose settings are all commented out.
   */
  private emptyValue(path: string, type: FieldType, at: Pos | undefined): void {
    const what = type.kind === 'struct' ? `the section "${path}" is empty` : `"${path}" has no value`;
    const effect = type.kind === 'struct' ? 'ignores it' : 'leaves it unset';
    this.add(
      'warning',
      at,
      `${what}: coreos-cloudinit warns "incorrect type" and ${effect}; fill it in (a comment is not a value) or remove the key`,
    );
  }

  private typeError(path: string, want: string, found: string, at: Pos | undefined): void {
    if (this.os === 'flatcar') {
      this.add('error', at, `"${path}" must be ${want}, found ${found}: Flatcar's coreos-cloudinit rejects the whole file`);
    } else {
      this.add('warning', at, `"${path}" must be ${want}, found ${found}: legacy CoreOS ignores the value`);
    }
  }

  // ---- coreos.units ---------------------------------------------------------------------------

  private checkUnits(root: YAMLMap): void {
    const coreos = this.mapAt(root, 'coreos');
    const units = coreos ? this.value(coreos, 'units') : undefined;
    if (!isSeq(units)) return;
    const written = this.writtenUnitFiles(root);
    units.items.forEach((raw, i) => {
      const unit = this.deref(raw);
      if (!isMap(unit)) return;
      const at = this.pos(unit) ?? this.pos(raw);
      const name = this.text(unit, 'name');
      const content = this.text(unit, 'content');
      const command = this.text(unit, 'command');
      const enable = this.bool(unit, 'enable');
      const mask = this.bool(unit, 'mask');
      const dropIns = this.value(unit, 'drop_ins');
      const hasDropIns = isSeq(dropIns) && dropIns.items.length > 0;
      const acts = Boolean(content?.text) || hasDropIns || Boolean(command?.text) || enable?.value === true || mask?.value === true;
      if (!name || name.text === '') {
        this.add(acts ? 'error' : 'warning', at, `coreos.units[${i}] has no "name": coreos-cloudinit skips it`);
        return;
      }
      const dropInPath = /^([^/]+)\.d\/([^/]+)$/.exec(name.text);
      if (dropInPath && !unitNameProblem(dropInPath[1]!)) {
        this.checkUnitDropInPath(name.text, dropInPath[1]!, dropInPath[2]!, { at: name.pos ?? at, content, command, enable });
        if (isSeq(dropIns)) this.checkDropIns(dropIns.items, `coreos.units[${i}]`);
        return;
      }
      const problem = unitNameProblem(name.text);
      if (problem) {
        this.add(acts ? 'error' : 'warning', name.pos ?? at, problem);
        return;
      }
      const suffix = name.text.slice(name.text.lastIndexOf('.') + 1);
      if (NETWORKD_SUFFIXES.has(suffix)) {
        if (command?.text) {
          this.add('warning', command.pos, `"command" is ignored for .${suffix} units: coreos-cloudinit restarts systemd-networkd instead`);
        }
        if (enable?.value === true) {
          this.add('warning', enable.pos, `"enable" is ignored for .${suffix} units: systemd-networkd reads them without enabling`);
        }
      } else {
        if (command?.text && name.text.includes('@.')) {
          this.add('error', command.pos, `cannot ${commandVerb(command.text)} the template unit ${show(name.text)}: name an instance, such as ${show(name.text.replace('@.', '@1.'))}`);
        }
        const removed = REMOVED_ON_FLATCAR[name.text];
        const starts = command?.text ? command : enable?.value === true ? enable : undefined;
        if (this.os === 'flatcar' && removed && starts && !content?.text && !written.has(name.text)) {
          this.add(
            'error',
            starts.pos,
            `${name.text} does not exist on Flatcar (${removed}); coreos-cloudinit fails on it and skips the unit commands after it; give the unit a "content"`,
          );
        }
      }
      if (isSeq(dropIns)) this.checkDropIns(dropIns.items, `coreos.units[${i}]`);
    });
  }

  /**
   * A unit named like `docker.service.d/50-opts.conf`: coreos-cloudinit writes its content to
   * /etc/systemd/system/<name> (/run with `runtime`), creating the directory, which makes it a drop-in of
   * that unit (CoreOS's own OEM cloud-configs do this). It is a file, not a unit: systemctl refuses to
   * start or enable it, and coreos-cloudinit stops at that failure. The directory is the system one, where
   * systemd-networkd does not look for drop-ins of .network/.netdev/.link files.
   */
  private checkUnitDropInPath(
    name: string,
    unit: string,
    file: string,
    u: { at: Pos | undefined; content: { text: string } | undefined; command: { text: string; pos: Pos | undefined } | undefined; enable: { value: boolean | undefined; pos: Pos | undefined } | undefined },
  ): void {
    const hasContent = Boolean(u.content?.text);
    const notAUnit = `it is a drop-in file of ${unit}, not a unit`;
    if (u.command?.text) {
      this.add('error', u.command.pos, `cannot ${commandVerb(u.command.text)} ${show(name)}: ${notAUnit}; systemd refuses it and coreos-cloudinit stops there. Put "command" on a unit named ${show(unit)}`);
    }
    if (u.enable?.value === true) {
      this.add('error', u.enable.pos, `cannot enable ${show(name)}: ${notAUnit}; systemd refuses it and coreos-cloudinit stops there. Put "enable" on a unit named ${show(unit)}`);
    }
    if (!hasContent) {
      this.add('warning', u.at, `${show(name)} has no "content" (${notAUnit}): coreos-cloudinit writes nothing`);
      return;
    }
    const suffix = unit.slice(unit.lastIndexOf('.') + 1);
    if (NETWORKD_SUFFIXES.has(suffix)) {
      this.add(
        'error',
        u.at,
        `drop-in ${show(name)} is written under /etc/systemd/system, where systemd-networkd never reads it: write it to ${show(`/etc/systemd/network/${name}`)} with write_files`,
      );
    } else if (!file.endsWith('.conf')) {
      this.add('error', u.at, `drop-in ${show(name)} is never read: systemd only loads drop-ins whose name ends in ".conf"`);
    }
  }

  private checkDropIns(items: unknown[], path: string): void {
    items.forEach((raw, j) => {
      const dropIn = this.deref(raw);
      if (!isMap(dropIn)) return;
      const at = this.pos(dropIn) ?? this.pos(raw);
      const name = this.text(dropIn, 'name');
      const content = this.text(dropIn, 'content');
      if (!name?.text) {
        this.add('warning', at, `${path}.drop_ins[${j}] has no "name": coreos-cloudinit skips it`);
        return;
      }
      if (!content?.text) {
        this.add('warning', name.pos ?? at, `drop-in ${show(name.text)} has no "content": coreos-cloudinit skips it`);
        return;
      }
      if (name.text.includes('/')) {
        this.add('error', name.pos ?? at, `drop-in name ${show(name.text)} must be a file name, without "/"`);
      } else if (!name.text.endsWith('.conf')) {
        this.add('error', name.pos ?? at, `drop-in ${show(name.text)} is never read: systemd only loads drop-ins whose name ends in ".conf"`);
      }
    });
  }

  /** Unit names whose file write_files puts in /etc/systemd/system or /run/systemd/system. */
  private writtenUnitFiles(root: YAMLMap): Set<string> {
    const names = new Set<string>();
    const files = this.value(root, 'write_files');
    if (!isSeq(files)) return names;
    for (const raw of files.items) {
      const file = this.deref(raw);
      const path = isMap(file) ? this.text(file, 'path')?.text : undefined;
      if (!path) continue;
      const full = posix.join('/', path);
      const dir = posix.dirname(full);
      if (dir === '/etc/systemd/system' || dir === '/run/systemd/system') names.add(posix.basename(full));
    }
    return names;
  }

  // ---- write_files ----------------------------------------------------------------------------

  private checkWriteFiles(root: YAMLMap): void {
    const files = this.value(root, 'write_files');
    if (!isSeq(files)) return;
    files.items.forEach((raw, i) => {
      const file = this.deref(raw);
      if (!isMap(file)) return;
      const at = this.pos(file) ?? this.pos(raw);
      const path = this.text(file, 'path');
      if (!path?.text) {
        this.add('error', path?.pos ?? at, `write_files[${i}] has no "path": coreos-cloudinit fails to write it and stops there`);
      } else {
        const full = posix.join('/', path.text);
        if (!path.text.startsWith('/')) {
          this.add('warning', path.pos, `path ${show(path.text)} is relative: coreos-cloudinit writes it to ${show(full)}; write the absolute path`);
        }
        if (full === '/usr' || full.startsWith('/usr/')) {
          this.add(
            'error',
            path.pos,
            `${show(path.text)} is under /usr, which is read-only on Container Linux: the write fails and coreos-cloudinit stops before the units`,
          );
        }
      }
      this.checkPermissions(file);
      this.checkEncoding(file, at);
    });
  }

  private checkPermissions(file: YAMLMap): void {
    const node = this.deref(this.value(file, 'permissions'));
    if (!isScalar(node)) return;
    const info = scalarInfo(node);
    if (info.quoted || (info.kind !== 'int' && info.kind !== 'float')) return;
    if (!/^0?[0-7]{3,4}$/.test(info.text)) return; // the invalid value is reported by the schema rule
    const mode = info.text.padStart(4, '0');
    const reading =
      info.text.startsWith('0') && info.text.length > 1
        ? `YAML 1.1 reads it as the number ${String(info.value)} (octal ${info.text})`
        : `YAML reads it as the decimal number ${info.text}`;
    this.add(
      'warning',
      this.pos(node),
      `permissions ${info.text} is not quoted: ${reading}; coreos-cloudinit happens to use the text as written (mode ${mode}), other YAML tools see ${String(info.value)}: write "${mode}"`,
    );
  }

  private checkEncoding(file: YAMLMap, at: Pos | undefined): void {
    const encoding = this.text(file, 'encoding');
    if (!encoding?.text || !(FILE_ENCODINGS as readonly string[]).includes(encoding.text)) return;
    const content = this.text(file, 'content');
    if (content && !content.bytes) return;
    const reason = decodeProblem(content?.bytes ?? Buffer.alloc(0), encoding.text);
    if (reason) {
      this.add(
        'error',
        content?.pos ?? encoding.pos ?? at,
        `content cannot be decoded as "${encoding.text}" (${reason}): coreos-cloudinit rejects the whole file`,
      );
    }
  }

  // ---- users, etcd discovery ------------------------------------------------------------------

  private checkUsers(root: YAMLMap): void {
    const users = this.value(root, 'users');
    if (!isSeq(users)) return;
    users.items.forEach((raw, i) => {
      const user = this.deref(raw);
      if (!isMap(user)) return;
      if (!this.text(user, 'name')?.text) {
        this.add('warning', this.pos(user) ?? this.pos(raw), `users[${i}] has no "name": coreos-cloudinit skips it`);
      }
    });
  }

  private checkDiscovery(root: YAMLMap): void {
    const coreos = this.mapAt(root, 'coreos');
    if (!coreos) return;
    for (const section of ['etcd', 'etcd2']) {
      const etcd = this.mapAt(coreos, section);
      const discovery = etcd ? this.text(etcd, 'discovery') : undefined;
      if (!discovery?.text) continue;
      let url: URL | undefined;
      try {
        url = new URL(discovery.text);
      } catch {
        url = undefined;
      }
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
        this.add('warning', discovery.pos, `discovery URL ${show(discovery.text)} is not a valid http(s) URL`);
      } else if (url.hostname === 'discovery.etcd.io') {
        this.add(
          'warning',
          discovery.pos,
          'the public discovery service discovery.etcd.io is deprecated and no longer dependable (it answered 503 in June 2026): bootstrap etcd with a static initial_cluster',
        );
      }
    }
  }

  // ---- YAML helpers ---------------------------------------------------------------------------

  /** Pairs of a mapping, with `<<` merge keys expanded (go-yaml supports them). */
  private entries(map: YAMLMap, merged = false, depth = 0): Entry[] {
    const out: Entry[] = [];
    for (const pair of map.items) {
      const keyNode = pair.key;
      if (depth < 10 && isScalar(keyNode) && keyNode.source === '<<' && (keyNode.type ?? 'PLAIN') === 'PLAIN') {
        const target = this.deref(pair.value);
        const sources = isSeq(target) ? target.items.map((item) => this.deref(item)) : [target];
        if (sources.every((s) => isMap(s))) {
          for (const source of sources) if (isMap(source)) out.push(...this.entries(source, true, depth + 1));
          continue;
        }
      }
      const key = isScalar(keyNode) ? scalarInfo(keyNode).text : keyNode === null ? '' : String(keyNode);
      out.push({ pair, key, pos: this.pos(keyNode) ?? this.pos(pair.value), merged });
    }
    return out;
  }

  /** The entry a decoder uses for `key` (snake_case name): exact match on Flatcar, hyphens allowed on CoreOS. */
  private entry(map: YAMLMap, key: string): Entry | undefined {
    const matches = this.entries(map).filter(
      (e) => e.key === key || (this.os === 'coreos' && e.key.replace(/-/g, '_') === key),
    );
    const explicit = matches.filter((e) => !e.merged);
    return explicit[explicit.length - 1] ?? matches[0];
  }

  private value(map: YAMLMap, key: string): unknown {
    const e = this.entry(map, key);
    return e ? this.deref(e.pair.value) : undefined;
  }

  private mapAt(map: YAMLMap, key: string): YAMLMap | undefined {
    const v = this.value(map, key);
    return isMap(v) ? v : undefined;
  }

  /** A scalar field's text and position (undefined when absent, null or not a scalar). */
  private text(map: YAMLMap, key: string): { text: string; bytes: Buffer | undefined; pos: Pos | undefined } | undefined {
    const v = this.value(map, key);
    if (!isScalar(v)) return undefined;
    const info = scalarInfo(v);
    if (info.kind === 'null') return undefined;
    // A `!!binary` value is decoded by the YAML decoder: the field holds its bytes, not the base64 text
    // (none when that base64 is invalid: the file is rejected for it, see scanDecoderFailures).
    const bytes = info.binary === undefined ? Buffer.from(info.text, 'utf8') : (info.binary ?? undefined);
    return { text: info.text, bytes, pos: this.pos(v) };
  }

  private bool(map: YAMLMap, key: string): { value: boolean | undefined; pos: Pos | undefined } | undefined {
    const v = this.value(map, key);
    if (!isScalar(v)) return undefined;
    const info: ScalarInfo = scalarInfo(v);
    let value: boolean | undefined;
    if (info.kind === 'bool') value = info.value === true;
    else if (info.quoted && V3_BOOL_COMPAT.has(info.text) && this.os === 'flatcar') value = /^(y|yes|on)$/i.test(info.text);
    return { value, pos: this.pos(v) };
  }

  private deref(node: unknown): unknown {
    let n = node;
    for (let i = 0; i < 10 && isAlias(n); i++) n = this.doc ? n.resolve(this.doc) : undefined;
    return n;
  }

  private describe(node: unknown): string {
    if (isMap(node)) return 'a mapping';
    if (isSeq(node)) return 'a list';
    if (isScalar(node)) return describeScalar(scalarInfo(node));
    return 'an unknown node';
  }

  private pos(node: unknown): Pos | undefined {
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    return range ? this.at(range[0]) : undefined;
  }

  private at(offset: number): Pos {
    const p = this.lc.linePos(offset);
    return { line: p.line, column: p.col };
  }

  private add(severity: Diagnostic['severity'], pos: Pos | undefined, message: string): void {
    const d: Diagnostic = { line: pos?.line ?? 1, severity, message };
    if (pos) d.column = pos.column;
    this.diagnostics.push(d);
  }
}

function cut(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Why `name` is not a usable systemd unit name, or undefined. */
export function unitNameProblem(name: string): string | undefined {
  const examples = '.service, .socket, .timer, .path, .mount, .target, .network, .netdev, .link';
  if (name.length > 255) return `unit name ${show(name)} is longer than 255 characters`;
  if (name.includes('/')) {
    return `unit name ${show(name)} contains "/": a unit is a file name; only a drop-in may be named as a path, "UNIT.d/NAME.conf"`;
  }
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return `unit name ${show(name)} has no type suffix: name it like ${show(`${name || 'example'}.service`)} (types: ${examples} …)`;
  const suffix = name.slice(dot + 1);
  if (!(UNIT_SUFFIXES as readonly string[]).includes(suffix)) {
    return `unit name ${show(name)} has an unknown type ${show(`.${suffix}`)} (types: ${examples} …)`;
  }
  const base = name.slice(0, dot);
  if (!/^[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]*)?$/.test(base)) {
    return `invalid unit name ${show(name)}: only letters, digits and ":-_.\\" are allowed, with at most one "@" after the first character`;
  }
  return undefined;
}

/**
 * Why `content` (the field's bytes, after YAML decoding) cannot be decoded with `encoding` the way
 * coreos-cloudinit decodes it (config/decode.go: Go's base64, then `gzip.NewReader`, which reads only the
 * header; a broken stream after it is written truncated), or undefined.
 */
function decodeProblem(content: Buffer, encoding: string): string | undefined {
  const base64 = encoding.includes('b64') || encoding.includes('base64');
  const gzip = encoding.startsWith('gz');
  let bytes: Buffer = content;
  if (base64) {
    const decoded = goBase64(content.toString('latin1'));
    if (!decoded) return 'not valid base64';
    bytes = decoded;
  }
  if (gzip && !isGzipHeader(bytes)) return 'not gzip data';
  return undefined;
}

/** A gzip member header as Go's gzip.NewReader accepts it: magic, deflate, no reserved flag bits. */
function isGzipHeader(bytes: Buffer): boolean {
  return bytes.length >= 10 && bytes[0] === 0x1f && bytes[1] === 0x8b && bytes[2] === 8 && (bytes[3]! & 0xe0) === 0;
}

/** "start", "restart"…; an invalid command (reported by its own rule) is not repeated. */
function commandVerb(command: string): string {
  return (UNIT_COMMANDS as readonly string[]).includes(command) ? command : 'run a command on';
}

function invalidKeyMessage(source: string, mapping: boolean): string {
  const rejects = 'coreos-cloudinit fails with "invalid map key" and rejects the whole file';
  if (/^\{\s*[^{}:,\s]+\s*\}$/.test(source)) {
    return `{${source}} is read by YAML as a mapping whose key is the mapping ${source}: ${rejects}; a template placeholder left in? Fill it in, or quote the value`;
  }
  return `${mapping ? 'a mapping' : 'a list'}${source ? ` (${source})` : ''} used as a key: ${rejects}; quote the key to make it a string`;
}

function closest(word: string, candidates: string[]): string | undefined {
  if (word.length < 3) return undefined;
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = levenshtein(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Checks one cloud-config file. Returns every problem found, sorted by line (an empty list means the
 * file is valid for the target). Errors are things that break the boot or are silently lost on the
 * target; warnings are things to fix that still work (see the module comment for the rules).
 */
export function validateCloudConfig(text: string, opts: ValidateOptions): Diagnostic[] {
  const diagnostics = new Checker(opts.os).run(text);
  return diagnostics
    .map((d, i) => ({ d, i }))
    .sort((x, y) => x.d.line - y.d.line || (x.d.column ?? 0) - (y.d.column ?? 0) || x.i - y.i)
    .map((x) => x.d);
}

export type { TargetOs };
