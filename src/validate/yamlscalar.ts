/**
 * How coreos-cloudinit's Go YAML decoders see a scalar.
 *
 * Legacy CoreOS decodes with a fork of go-yaml v1 and Flatcar with go-yaml v3. For the fields of the
 * cloud-config struct both resolve plain (unquoted) scalars the YAML 1.1 way: `yes`, `no`, `on`, `off`, `y`,
 * `n` are booleans (v1 always, v3 when the target field is a bool), `0644` is the octal integer 420, `_` may
 * separate digits. A scalar decoded into a string field keeps its source text whatever it resolves to, so
 * `proxy: on` is the string "on" and `permissions: 0644` the string "0644".
 */

import type { Scalar } from 'yaml';

export type ScalarKind = 'null' | 'bool' | 'int' | 'float' | 'string';

export interface ScalarInfo {
  kind: ScalarKind;
  /** The value as written (without quotes; block scalars resolved). */
  text: string;
  /** Quoted, block or tagged as a string: never resolved to another type. */
  quoted: boolean;
  /** For bool, int and float. */
  value?: boolean | number;
  /**
   * For a `!!binary` scalar: the decoded bytes (`text` is then those bytes read as UTF-8, which is what a Go
   * string field holds), or null when the base64 is invalid, which makes both decoders reject the file.
   */
  binary?: Buffer | null;
}

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
export const YAML11_TRUE = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']);
export const YAML11_FALSE = new Set(['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']);
/** The strings go-yaml v3 still turns into booleans when the target field is a bool, even when quoted. */
export const V3_BOOL_COMPAT = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);
const SPECIAL_FLOATS = new Set(['.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF']);

const INT = /^[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;

/** The integer a Go `strconv.ParseInt(s, 0, 64)` reads from `s` (already known to match INT). */
function goInt(s: string): number {
  const negative = s.startsWith('-');
  const body = s.replace(/^[-+]/, '');
  let n: number;
  if (/^0[xX]/.test(body)) n = parseInt(body.slice(2), 16);
  else if (/^0[oO]/.test(body)) n = parseInt(body.slice(2), 8);
  else if (/^0[bB]/.test(body)) n = parseInt(body.slice(2), 2);
  else if (body.length > 1 && body.startsWith('0')) n = parseInt(body, 8);
  else n = parseInt(body, 10);
  return negative ? -n : n;
}

/** Resolves the text of a plain scalar as go-yaml does for YAML 1.1. */
export function resolvePlain(text: string): ScalarInfo {
  if (NULLS.has(text)) return { kind: 'null', text, quoted: false };
  if (YAML11_TRUE.has(text)) return { kind: 'bool', text, quoted: false, value: true };
  if (YAML11_FALSE.has(text)) return { kind: 'bool', text, quoted: false, value: false };
  if (SPECIAL_FLOATS.has(text)) return { kind: 'float', text, quoted: false, value: Number.NaN };
  const first = text[0] ?? '';
  if ('+-0123456789'.includes(first)) {
    const plain = text.replace(/_/g, '');
    if (INT.test(plain)) return { kind: 'int', text, quoted: false, value: goInt(plain) };
    if (FLOAT.test(plain)) return { kind: 'float', text, quoted: false, value: Number(plain) };
  } else if (first === '.' && FLOAT.test(text)) {
    return { kind: 'float', text, quoted: false, value: Number(text) };
  }
  return { kind: 'string', text, quoted: false };
}

const TAG_KINDS: Record<string, ScalarKind> = {
  str: 'string',
  binary: 'string',
  int: 'int',
  float: 'float',
  bool: 'bool',
  null: 'null',
};

/** Classifies a parsed scalar node. */
export function scalarInfo(node: Scalar): ScalarInfo {
  const text = node.source ?? (node.value === null || node.value === undefined ? '' : String(node.value));
  if (node.tag) {
    const short = node.tag.replace(/^tag:yaml\.org,2002:/, '').replace(/^!!/, '');
    if (short === 'binary') {
      const binary = goBase64(text);
      return binary ? { kind: 'string', text: binary.toString('utf8'), quoted: true, binary } : { kind: 'string', text, quoted: true, binary: null };
    }
    const kind = TAG_KINDS[short] ?? 'string';
    if (kind === 'string') return { kind, text, quoted: true };
    const resolved = resolvePlain(text);
    return resolved.kind === kind ? resolved : { kind, text, quoted: false };
  }
  if (node.type !== undefined && node.type !== 'PLAIN') return { kind: 'string', text, quoted: true };
  return resolvePlain(text);
}

/**
 * Decodes base64 as Go's `base64.StdEncoding.DecodeString` does (what go-yaml uses for `!!binary` and
 * coreos-cloudinit for `encoding: base64`): line breaks are skipped, padding is required, anything else
 * outside the alphabet is an error (undefined).
 */
export function goBase64(text: string): Buffer | undefined {
  const clean = text.replace(/[\r\n]/g, '');
  if (clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(clean)) return undefined;
  return Buffer.from(clean, 'base64');
}

/**
 * A value from the file, for a message: quoted and escaped (JSON string syntax, so control characters
 * and escape sequences never reach a terminal raw), and cut when long — a message never carries a whole
 * megabyte scalar.
 */
export function show(text: string, max = 80): string {
  if (text.length <= max) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, max - 20))}… (${text.length} characters)`;
}

/** A number as written, cut when long (`1.000…0001` with thousands of digits). */
export function brief(text: string, max = 40): string {
  return text.length <= max ? text : `${text.slice(0, max - 20)}… (${text.length} characters)`;
}

/** "the string \"x\"", "the number 12", … for messages. */
export function describeScalar(info: ScalarInfo): string {
  switch (info.kind) {
    case 'null':
      return 'nothing';
    case 'bool':
      return `the boolean ${info.text}`;
    case 'int':
    case 'float':
      return `the number ${brief(info.text)}`;
    case 'string':
      return `${info.quoted ? 'the quoted string' : 'the string'} ${show(info.text)}`;
  }
}
