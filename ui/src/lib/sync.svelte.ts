// The background sync's state for every screen: updated by the `sync` event and by asking.
import { api, type SyncView } from './api';

class SyncState {
  view = $state<SyncView | null>(null);
  private unlisten: (() => void) | null = null;

  async start() {
    if (!this.unlisten) {
      this.unlisten = await api.onSync(() => {
        // Asked on the UI's own connection, so the pending count is current after local
        // saves too.
        void this.refresh();
      });
    }
    await this.refresh();
  }

  async refresh() {
    try {
      this.view = await api.syncStatus();
    } catch {
      /* locked: nothing to show */
    }
  }

  stop() {
    this.unlisten?.();
    this.unlisten = null;
    this.view = null;
  }
}

export const sync = new SyncState();
