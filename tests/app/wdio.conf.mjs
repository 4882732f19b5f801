// WebdriverIO against the real built app: tauri-driver starts it through WebKitWebDriver
// (run the whole suite under Xvfb and a D-Bus session of its own: scripts/test does
// `dbus-run-session -- xvfb-run`). A real notification server, dunst, runs on that session so
// the app's desktop notifications can be read back (`dunstctl history`). Screenshots of every main
// screen go to artifacts/screenshots/ (look at them: they are what a user sees).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bin, ROOT, tempDir } from './harness.mjs';

export const SCREENSHOTS = join(ROOT, 'artifacts', 'screenshots');
mkdirSync(SCREENSHOTS, { recursive: true });

// One data directory for the whole run: the app is quit and started again on it.
process.env.ZHUCUN_DATA_DIR = process.env.ZHUCUN_E2E_DATA_DIR || tempDir('app');
process.env.ZHUCUN_LOG = 'warn';
// The Downloads folder, where the app saves the files of a task, as the desktop's user dirs
// name it (XDG's user-dirs.dirs): a folder of the run's own, so nothing lands in the home. Set
// once, in the launcher; the spec workers inherit it with the environment.
if (!process.env.ZHUCUN_E2E_DOWNLOADS) {
  process.env.ZHUCUN_E2E_DOWNLOADS = tempDir('downloads');
  process.env.XDG_CONFIG_HOME = tempDir('xdg-config');
  writeFileSync(join(process.env.XDG_CONFIG_HOME, 'user-dirs.dirs'), `XDG_DOWNLOAD_DIR="${process.env.ZHUCUN_E2E_DOWNLOADS}"\n`);
}
export const DOWNLOADS = process.env.ZHUCUN_E2E_DOWNLOADS;
let driver;
let notifications;

export const config = {
  runner: 'local',
  specs: ['./specs/**/*.e2e.mjs'],
  maxInstances: 1,
  hostname: '127.0.0.1',
  port: 4444,
  capabilities: [
    {
      browserName: 'wry',
      'wdio:enforceWebDriverClassic': true,
      'tauri:options': { application: bin('zhucun-app') },
    },
  ],
  logLevel: 'warn',
  framework: 'mocha',
  reporters: ['spec'],
  mochaOpts: { ui: 'bdd', timeout: 180000 },
  waitforTimeout: 20000,
  connectionRetryCount: 3,
  onPrepare() {
    if (!process.env.DBUS_SESSION_BUS_ADDRESS) {
      if (process.env.CI === 'true') throw new Error('no D-Bus session: run the suite under dbus-run-session');
      console.warn('no D-Bus session: desktop notifications are not checked');
      return;
    }
    notifications = spawn('dunst', [], { stdio: 'ignore', env: process.env });
    return new Promise((r) => setTimeout(r, 500));
  },
  onComplete() {
    notifications?.kill();
  },
  beforeSession() {
    driver = spawn(process.env.TAURI_DRIVER || 'tauri-driver', ['--port', '4444'], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: process.env,
    });
    return new Promise((r) => setTimeout(r, 1000));
  },
  afterSession() {
    driver?.kill();
  },
};
