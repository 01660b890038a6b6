/**
 * The lab file format (`labs/*.yaml`, `--config FILE`): versioned like kind's config. The header
 * ({apiVersion, kind}) is checked first, then the body is parsed strictly (unknown fields are
 * errors) and every problem is reported at once, with the line it is on.
 */
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { LabConfigError, type Problem } from '../errors.js';
import { LAB_OPTIONS, type FileType, type LabOption } from './options.js';

export const API_VERSION = 'cclab.dev/v1alpha1';
export const KIND = 'Lab';

function zodOf(type: FileType): z.ZodType {
  if (typeof type === 'object') return z.enum(type.enum);
  switch (type) {
    case 'string':
      return z.string();
    case 'strings':
      return z.array(z.string());
    case 'boolean':
      return z.boolean();
    case 'count':
      return z.number().int().min(0);
    case 'positive':
      return z.number().int().positive();
    case 'macs':
      return z.record(z.string(), z.string({ error: 'a MAC address is a string such as "52:54:00:12:34:56" (quote it)' }));
    case 'metadata':
      return z.record(z.string(), z.union([z.string(), z.number(), z.boolean()], { error: 'a fleet metadata value is a string, number or boolean' }));
  }
}

/** `spec:` of a lab file, from LAB_OPTIONS: `box.url` is the field `url` of the strict object `box`. */
function specSchemaOf(options: readonly LabOption[]): z.ZodType<LabSpec> {
  const shape = new Map<string, z.ZodType | Map<string, z.ZodType>>();
  for (const o of options) {
    if (!o.key || !o.file) continue;
    const [head, field] = o.key.split('.') as [string, string | undefined];
    const type = zodOf(o.file);
    if (field === undefined) shape.set(head, o.required ? type : type.optional());
    else {
      const group = shape.get(head) ?? new Map<string, z.ZodType>();
      if (!(group instanceof Map)) throw new Error(`lab option ${o.key}: ${head} is not a group`);
      group.set(field, type.optional());
      shape.set(head, group);
    }
  }
  const fields = [...shape].map(([k, v]) => [k, v instanceof Map ? z.strictObject(Object.fromEntries(v)).optional() : v] as const);
  return z.strictObject(Object.fromEntries(fields)) as unknown as z.ZodType<LabSpec>;
}

const specSchema = specSchemaOf(LAB_OPTIONS as readonly LabOption[]);

type FileOption = Extract<(typeof LAB_OPTIONS)[number], { key: string; file: FileType }>;
type ValueOf<F> = F extends 'string'
  ? string
  : F extends 'strings'
    ? string[]
    : F extends 'boolean'
      ? boolean
      : F extends 'count' | 'positive'
        ? number
        : F extends 'macs'
          ? Record<string, string>
        : F extends 'metadata'
          ? Record<string, string | number | boolean>
          : F extends { enum: readonly (infer E)[] }
            ? E
            : never;
type Head<K> = K extends `${infer H}.${string}` ? H : K;
type TypeAt<K> = ValueOf<Extract<FileOption, { key: K }>['file']>;
type GroupOf<H extends string> = { [K in FileOption['key'] as K extends `${H}.${infer F}` ? F : never]?: TypeAt<K> };

/** A lab file's `spec:`, as the table defines it. */
export type LabSpec = { [K in Extract<FileOption, { required: true }>['key']]: TypeAt<K> } & {
  [H in Head<FileOption['key']>]?: H extends FileOption['key'] ? TypeAt<H> : GroupOf<H>;
};

const docSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KIND),
  metadata: z.strictObject({ name: z.string().optional() }).optional(),
  spec: specSchema,
});

export interface LabDocument {
  name: string | undefined;
  spec: LabSpec;
}

/**
 * Parses a lab file. Throws LabConfigError listing every problem (YAML syntax, header, unknown or
 * mistyped fields), each with its line where the YAML has one.
 */
export function parseLabDocument(text: string, source: string): LabDocument {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: Problem[] = [];
  for (const e of doc.errors) {
    // linePos is only filled in with prettyErrors; the offset always is.
    const pos = e.linePos?.[0] ?? (e.pos ? lineCounter.linePos(e.pos[0]) : undefined);
    problems.push({ path: pos ? `line ${pos.line}` : '', message: e.message.split('\n')[0]! });
  }
  if (problems.length > 0) throw new LabConfigError(source, problems);

  let data: unknown;
  try {
    // Aliases that expand past yaml's limit (a "billion laughs" file) throw here, not in parsing.
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new LabConfigError(source, [{ path: '', message: `the YAML cannot be expanded: ${(e as Error).message.split('\n')[0]}` }]);
  }
  const lineOf = (path: PropertyKey[]): number | undefined => {
    let node: unknown = doc.contents;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
        if (!pair) break;
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key];
      } else break;
    }
    const range = (node as YamlNode | undefined)?.range;
    return range ? lineCounter.linePos(range[0]).line : undefined;
  };

  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new LabConfigError(source, [{ path: '', message: `a lab file is a YAML mapping with apiVersion: ${API_VERSION} and kind: ${KIND}` }]);
  }
  const header = data as Record<string, unknown>;
  if (header.apiVersion !== API_VERSION || header.kind !== KIND) {
    throw new LabConfigError(source, [
      {
        path: 'apiVersion',
        message: `expected apiVersion: ${API_VERSION} and kind: ${KIND}, found apiVersion: ${JSON.stringify(header.apiVersion ?? null)}, kind: ${JSON.stringify(header.kind ?? null)}`,
      },
    ]);
  }

  const result = docSchema.safeParse(data);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
      for (const key of keys) {
        const path = key === undefined ? issue.path : [...issue.path, key];
        const line = lineOf(path);
        const where = path.map(String).join('.');
        const message = key === undefined ? issue.message : `unknown field "${key}"`;
        problems.push({ path: line ? `${where} (line ${line})` : where, message });
      }
    }
    throw new LabConfigError(source, problems);
  }
  // fleet metadata values are text: `rack: 0644` means "0644", not the number 644 (nor `v: 1.10` 1.1).
  const metadata = doc.getIn(['spec', 'metadata'], true);
  if (isMap(metadata) && result.data.spec.metadata) {
    for (const pair of metadata.items) {
      if (!isScalar(pair.key) || !isScalar(pair.value)) continue;
      const key = String(pair.key.value);
      const value = result.data.spec.metadata[key];
      if (typeof value !== 'string' && typeof pair.value.source === 'string') result.data.spec.metadata[key] = pair.value.source;
    }
  }
  return { name: result.data.metadata?.name, spec: result.data.spec };
}
