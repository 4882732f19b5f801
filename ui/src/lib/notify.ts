// Reminders as desktop notifications (Tauri's notification plugin). Each reminder is notified
// once, the first time the home screen lists it; what was notified is kept on this device
// only (localStorage), and nothing is sent anywhere. The words come from the catalogs, like
// the home screen's list.
import { isPermissionGranted, requestPermission, sendNotification } from '@tauri-apps/plugin-notification';
import type { Reminder } from './bindings/Reminder';

const STORE = 'zhucun.notified';

/** What makes a reminder the same reminder on another day: what it is about and its date. */
export function reminderKey(r: Reminder): string {
  return [r.kind, r.record ?? `${r.village}/${r.title}`, r.date].join('|');
}

/**
 * The reminders not notified yet, and the keys to keep: those of the reminders listed now
 * (a reminder that left the list and comes back on another date is new again).
 */
export function unnotified(reminders: Reminder[], seen: string[]): { fresh: Reminder[]; keep: string[] } {
  const before = new Set(seen);
  const keep = reminders.map(reminderKey);
  return { fresh: reminders.filter((r) => !before.has(reminderKey(r))), keep };
}

function loadSeen(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(STORE) ?? '[]');
    return Array.isArray(v) ? v.filter((k): k is string => typeof k === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Notify the reminders listed now that were not notified before: one notification, the first
 * reminder's words and how many more there are. Outside the app (a plain browser) nothing.
 */
export async function notifyNew(
  reminders: Reminder[],
  words: { title: string; text: (r: Reminder) => string; more: (n: number) => string },
): Promise<void> {
  if (!('__TAURI_INTERNALS__' in window)) return;
  const { fresh, keep } = unnotified(reminders, loadSeen());
  if (fresh.length > 0) {
    let granted = await isPermissionGranted();
    if (!granted) granted = (await requestPermission()) === 'granted';
    if (!granted) return;
    const body = fresh.length > 1 ? `${words.text(fresh[0])}${words.more(fresh.length - 1)}` : words.text(fresh[0]);
    sendNotification({ title: words.title, body });
  }
  localStorage.setItem(STORE, JSON.stringify(keep));
}
