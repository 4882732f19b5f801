// Typed calls to the app's Rust commands. The types come from Rust (ts-rs, ./bindings);
// nothing here restates a Rust type by hand.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type { AppError } from './bindings/AppError';
import type { AppStatus } from './bindings/AppStatus';
import type { DeviceInfo } from './bindings/DeviceInfo';
import type { Home } from './bindings/Home';
import type { HistoryItem } from './bindings/HistoryItem';
import type { ListPage } from './bindings/ListPage';
import type { ListQuery } from './bindings/ListQuery';
import type { PhotoRef } from './bindings/PhotoRef';
import type { RecordView } from './bindings/RecordView';
import type { Row } from './bindings/Row';
import type { Saved } from './bindings/Saved';
import type { SearchResult } from './bindings/SearchResult';
import type { SyncView } from './bindings/SyncView';
import type { MonthlyFigures } from './bindings/MonthlyFigures';
import type { Reminder } from './bindings/Reminder';

export type {
  AppError,
  AppStatus,
  DeviceInfo,
  Home,
  HistoryItem,
  ListPage,
  ListQuery,
  PhotoRef,
  RecordView,
  Row,
  Saved,
  SearchResult,
  SyncView,
  MonthlyFigures,
  Reminder,
};

/** Whether a thrown value is the app's typed error. */
export function isAppError(e: unknown): e is AppError {
  return typeof e === 'object' && e !== null && 'kind' in e && 'message' in e;
}

export const api = {
  status: () => invoke<AppStatus>('app_status'),
  enroll: (server: string, code: string, pin: string) =>
    invoke<DeviceInfo>('enroll', { server, code, pin }),
  unlock: (pin: string) => invoke<DeviceInfo>('unlock', { pin }),
  lock: () => invoke<void>('lock'),
  forgetPin: () => invoke<string>('forget_pin'),
  device: () => invoke<DeviceInfo>('device'),
  home: () => invoke<Home>('home'),
  list: (query: ListQuery) => invoke<ListPage>('list_records', { query }),
  search: (text: string, kind?: string) =>
    invoke<SearchResult>('search', { text, kind: kind ?? null }),
  get: (id: string) => invoke<RecordView>('get_record', { id }),
  save: (kind: string, fields: Record<string, unknown>) =>
    invoke<Saved>('save_record', { kind, fields }),
  history: (id: string) => invoke<HistoryItem[]>('history', { id }),
  addPhoto: async (file: Blob): Promise<PhotoRef> => {
    const bytes = new Uint8Array(await file.arrayBuffer());
    return invoke<PhotoRef>('add_photo', bytes, {
      headers: { 'x-mime': file.type || 'image/jpeg' },
    });
  },
  photo: async (hash: string): Promise<Blob> => {
    const buf = await invoke<ArrayBuffer>('photo', { hash });
    return new Blob([buf]);
  },
  /** Save an attachment to the Downloads folder; answers where it went. */
  saveFile: (hash: string, name: string) => invoke<string>('save_file', { hash, name }),
  roster: () => invoke<Row[]>('roster'),
  figures: (village: string, month: string) =>
    invoke<MonthlyFigures>('figures', { village, month }),
  syncNow: () => invoke<void>('sync_now'),
  syncStatus: () => invoke<SyncView>('sync_status'),
  setServer: (url: string) => invoke<DeviceInfo>('set_server', { url }),
  /** Keep the words of an edit the server refused, as notes on the record it holds. */
  keepRefusedWords: (id: string) => invoke<Saved>('keep_refused_words', { id }),
  /** Called whenever the background sync's state changes; ask `syncStatus` for it. */
  onSync: (f: () => void): Promise<UnlistenFn> => listen<null>('sync', () => f()),
};
