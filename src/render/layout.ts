/**
 * Where a rendered lab's files lie, relative to its directory (a lab directory under the cclab home,
 * or `render --out`). Only node built-ins and no imports: the paths module, which `cclab docker-env`
 * loads, reads these too.
 */

/** The directory holding one config per machine. */
export const USER_DATA_DIR = 'user-data';

/** A machine's cloud-config, relative to the lab directory. */
export const userDataPath = (machine: string): string => `${USER_DATA_DIR}/${machine}.yaml`;
