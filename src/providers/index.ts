/** Every provider's record, by name. */
import type { Provider } from '../lab/types.js';
import { libvirt } from './libvirt.js';
import { parallels } from './parallels.js';
import type { ProviderRecord } from './types.js';
import { virtualbox } from './virtualbox.js';

export const PROVIDER_RECORDS: Record<Provider, ProviderRecord> = { virtualbox, libvirt, parallels };

export function providerRecord(name: Provider): ProviderRecord {
  return PROVIDER_RECORDS[name];
}
