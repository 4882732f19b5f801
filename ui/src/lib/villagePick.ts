// The village a multi-village device (township, city) is looking at on the members and
// report screens, kept while the app runs so moving between months keeps it.
import type { DeviceInfo } from './api';

type Unit = DeviceInfo['villages'][number];
let chosen: string | null = null;

/** The chosen village if the device has it, else the device's first. */
export function currentVillage(villages: Unit[]): string {
  if (chosen && villages.some((v) => v.id === chosen)) return chosen;
  return villages[0]?.id ?? '';
}

export function chooseVillage(id: string) {
  chosen = id;
}
