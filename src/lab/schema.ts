/**
 * The lab file format (`labs/*.yaml`, `--config FILE`): versioned like kind's config. The header
 * ({apiVersion, kind}) is checked first, then the body is parsed strictly (unknown fields are
 * errors) and every problem is reported at once, with the line it is on.
 */
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { LabConfigError, type Problem } from '../errors.js';
import { ARCHITECTURES, OSES, PROVIDERS, REBOOT_STRATEGIES } from './types.js';

export const API_VERSION = 'cclab.dev/v1alpha1';
export const KIND = 'Lab';

const count = z.number().int().min(0);

const specSchema = z.strictObject({
  architecture: z.enum(ARCHITECTURES),
  os: z.enum(OSES).optional(),
  channel: z.string().optional(),
  provider: z.enum(PROVIDERS).optional(),
  box: z
    .strictObject({
      name: z.string().optional(),
      url: z.string().optional(),
      version: z.string().optional(),
    })
    .optional(),
  members: count.optional(),
  services: count.optional(),
  workers: count.optional(),
  memory: z.number().int().positive().optional(),
  cpus: z.number().int().positive().optional(),
  subnet: z.string().optional(),
  gateway: z.string().optional(),
  dns: z.array(z.string()).optional(),
  dockerTcp: z.boolean().optional(),
  discovery: z.string().optional(),
  metadata: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()], { error: 'a fleet metadata value is a string, number or boolean' }))
    .optional(),
  sshKeys: z.array(z.string()).optional(),
  update: z
    .strictObject({
      group: z.string().optional(),
      servicesGroup: z.string().optional(),
      workersGroup: z.string().optional(),
      server: z.string().optional(),
      rebootStrategy: z.enum(REBOOT_STRATEGIES).optional(),
    })
    .optional(),
  fleet: z
    .strictObject({
      url: z.string().optional(),
      sha256: z.string().optional(),
      localFile: z.string().optional(),
    })
    .optional(),
  libvirt: z
    .strictObject({
      driver: z.enum(['kvm', 'qemu']).optional(),
      cpuMode: z.string().optional(),
      cpuModel: z.string().optional(),
      managementNetwork: z.string().optional(),
    })
    .optional(),
});

const docSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KIND),
  metadata: z.strictObject({ name: z.string().optional() }).optional(),
  spec: specSchema,
});

export type LabSpec = z.infer<typeof specSchema>;
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

  const data: unknown = doc.toJS();
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
