// The real parts the app's end-to-end tests talk to: a zhucun-server process on loopback with
// its own SQLite file, the zhucun CLI as a second client, and fresh data directories.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TARGET = process.env.CARGO_TARGET_DIR || join(ROOT, 'target');

/** A binary built by `cargo build` (debug profile). */
export function bin(name) {
  const p = join(TARGET, 'debug', name);
  if (!existsSync(p)) throw new Error(`${p} is missing: run scripts/test (it builds the workspace first)`);
  return p;
}

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), `zhucun-${prefix}-`));
}

/**
 * Start the server on an empty SQLite database seeded with the demo organisation;
 * `maxBlob` is the largest attachment it takes, in bytes.
 */
export async function startServer({ maxBlob } = {}) {
  const dir = tempDir('server');
  const db = `sqlite://${join(dir, 'server.db')}`;
  const env = { ...process.env, ZHUCUN_LOG: 'warn' };
  execFileSync(bin('zhucun-server'), ['--db', db, 'demo', '--json'], { env });
  const child = spawn(
    bin('zhucun-server'),
    [
      '--db',
      db,
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--blob-dir',
      join(dir, 'blobs'),
      ...(maxBlob ? ['--max-blob', String(maxBlob)] : []),
    ],
    { env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`server did not start: ${out}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m[1].startsWith('http') ? m[1] : `http://${m[1]}`);
      }
    });
    child.on('exit', (c) => rej(new Error(`server exited (${c}): ${out}`)));
  });
  return {
    url,
    db,
    code(person) {
      return execFileSync(bin('zhucun-server'), ['--db', db, 'admin', 'issue-code', '--person', person], { env })
        .toString()
        .trim();
    },
    stop() {
      child.kill('SIGTERM');
    },
  };
}

/** The CLI as a second device. */
export function cli(server, person) {
  const dir = tempDir('cli');
  const env = { ...process.env, ZHUCUN_KEY: 'e2e-cli-key', ZHUCUN_DATA_DIR: dir, ZHUCUN_LOG: 'warn' };
  const run = (args, input) =>
    execFileSync(bin('zhucun'), args, { env, input, maxBuffer: 64 << 20 }).toString();
  run(['enroll', '--server', server.url, '--code', server.code(person)]);
  return {
    dir,
    run,
    sync: () => JSON.parse(run(['sync', '--json'])),
    /** Save a record; returns its id. */
    put: (kind, record) => run(['put', kind, '--lines'], `${JSON.stringify(record)}\n`).trim(),
    search: (text) => JSON.parse(run(['search', text, '--json'])),
    get: (id) => JSON.parse(run(['get', id, '--json'])),
  };
}

/**
 * The desktop notifications shown so far on the suite's D-Bus session, as dunst's history
 * (JSON text); `null` when the suite runs without a D-Bus session (not under CI).
 */
export function notificationsShown() {
  if (!process.env.DBUS_SESSION_BUS_ADDRESS) {
    if (process.env.CI === 'true') throw new Error('no D-Bus session under CI');
    return null;
  }
  return execFileSync('dunstctl', ['history'], { encoding: 'utf8' });
}
