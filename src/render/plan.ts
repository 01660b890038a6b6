/** A resolved lab → the files that make it (pure). */
import type { Lab } from '../lab/types.js';
import { buildCloudConfig, serializeCloudConfig, type Target } from './cloudconfig.js';
import { userDataPath } from './layout.js';
import { renderVagrantfile } from './vagrantfile.js';

export interface PlannedFile {
  /** Relative to the output directory. */
  path: string;
  kind: 'vagrantfile' | 'user-data';
  machine?: string;
  content: string;
}

export interface RenderPlan {
  target: Target;
  files: PlannedFile[];
}

export interface PlanOptions {
  target: Target;
  version: string;
}

export function planLab(lab: Lab, opts: PlanOptions): RenderPlan {
  const files: PlannedFile[] = [];
  if (opts.target === 'vagrant') {
    files.push({ path: 'Vagrantfile', kind: 'vagrantfile', content: renderVagrantfile(lab, { version: opts.version }) });
  }
  for (const m of lab.machines) {
    files.push({
      path: userDataPath(m.name),
      kind: 'user-data',
      machine: m.name,
      content: serializeCloudConfig(buildCloudConfig(lab, m, opts.target)),
    });
  }
  return { target: opts.target, files };
}
