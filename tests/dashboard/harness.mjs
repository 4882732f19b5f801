// The real parts the dashboard's browser tests talk to: a zhucun-server process on loopback
// with its own SQLite file, the demo organisation and the built dashboard; the zhucun CLI as
// the field devices that put real records in; Debian's Chromium driven by playwright-core.
// Everything started here is stopped by `stopAll()` (and, as a last resort, on exit).
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TARGET = resolve(ROOT, process.env.CARGO_TARGET_DIR || 'target');
export const DASHBOARD_DIR = join(ROOT, 'ui', 'dist-dashboard');
export const SCREENSHOTS = join(ROOT, 'artifacts', 'screenshots');
export const CHROMIUM = process.env.ZHUCUN_CHROMIUM || '/usr/bin/chromium';
export const PASSWORD = 'zhucun-demo';

/** The message catalogs the dashboard shows (what the tests expect on screen). */
export const zh = JSON.parse(readFileSync(join(ROOT, 'ui/src/locales/zh-CN.json'), 'utf8'));
export const en = JSON.parse(readFileSync(join(ROOT, 'ui/src/locales/en.json'), 'utf8'));

/** A message of a catalog by its dotted key, `{name}` placeholders filled in. */
export function msg(catalog, key, values = {}) {
  let m = key.split('.').reduce((o, k) => o?.[k], catalog);
  if (typeof m !== 'string') throw new Error(`no message ${key}`);
  for (const [k, v] of Object.entries(values)) m = m.replaceAll(`{${k}}`, String(v));
  return m;
}

/** A binary built by `cargo build` (debug profile). */
export function bin(name) {
  const p = join(TARGET, 'debug', name);
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`cargo test --workspace\` or \`cargo build --workspace\` first (scripts/test does)`);
  return p;
}

const temps = [];
export function tempDir(prefix) {
  const d = mkdtempSync(join(tmpdir(), `zhucun-dash-${prefix}-`));
  temps.push(d);
  return d;
}

const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of children) c.kill('SIGKILL');
    process.exit(130);
  });
}

/** Start the server on a fresh SQLite database with the demo organisation, serving the dashboard. */
export async function startServer() {
  if (!existsSync(join(DASHBOARD_DIR, 'index.html'))) {
    throw new Error(`${DASHBOARD_DIR} is not built: cd ui && npx vite build --config vite.dashboard.config.ts`);
  }
  const dir = tempDir('server');
  const db = `sqlite://${join(dir, 'server.db')}`;
  const env = { ...process.env, ZHUCUN_LOG: 'warn' };
  const demo = JSON.parse(execFileSync(bin('zhucun-server'), ['--db', db, 'demo', '--json'], { env }).toString());
  const child = spawn(
    bin('zhucun-server'),
    ['--db', db, 'serve', '--listen', '127.0.0.1:0', '--blob-dir', join(dir, 'blobs'), '--dashboard-dir', DASHBOARD_DIR],
    { env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.add(child);
  const exited = new Promise((res) => child.on('exit', res));
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
    demo,
    code(person) {
      return execFileSync(bin('zhucun-server'), ['--db', db, 'admin', 'issue-code', '--person', person], { env })
        .toString()
        .trim();
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      children.delete(child);
    },
  };
}

/** The CLI as a device; enrolled with `code` (default: one issued by the server's admin CLI). */
export function cli(server, person, { code, name = 'zhucun CLI' } = {}) {
  const dir = tempDir('cli');
  const env = { ...process.env, ZHUCUN_KEY: 'e2e-dashboard-key', ZHUCUN_DATA_DIR: dir, ZHUCUN_LOG: 'warn' };
  const run = (args, input) => execFileSync(bin('zhucun'), args, { env, input, maxBuffer: 64 << 20 }).toString();
  const enrolled = JSON.parse(
    run(['enroll', '--server', server.url, '--code', code ?? server.code(person), '--name', name, '--json']),
  );
  return {
    dir,
    device: enrolled.device,
    enrolled,
    run,
    /** Run without throwing: `{status, stdout, stderr}`. */
    attempt: (args) => {
      const r = spawnSync(bin('zhucun'), args, { env, encoding: 'utf8', timeout: 60000 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    sync: () => JSON.parse(run(['sync', '--json'])),
    /** Save records (one JSON object a line); returns their ids. */
    put: (kind, ...records) =>
      run(['put', kind, '--lines'], records.map((r) => JSON.stringify(r)).join('\n') + '\n')
        .trim()
        .split('\n'),
  };
}

const pad = (n) => String(n).padStart(2, '0');
const iso = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

/**
 * Real records through the CLI, as the field and the township would enter them, synced:
 * 东风村 (li-ming) gets a roster with three members made probationary this year (two women),
 * a pipeline, six activities this month (the three meetings and the lesson among them), a
 * submitted monthly report and an activity-venue project; 城关镇 (wang-qiang) gives 东风村 a
 * task that is due and one that is overdue; 红旗社区 (chen-jing) gets one activity.
 * `today` is the server's (`YYYY-MM-DD`). Returns what the dashboard should show.
 */
export function seed(server, today) {
  const [y, m, d] = today.split('-').map(Number);
  const now = new Date(y, m - 1, d);
  const month = today.slice(0, 7);
  const first = new Date(y, m - 1, 1);
  /** `days` before today, but never before the first of the month. */
  const back = (days) => iso(new Date(Math.max(first.getTime(), now.getTime() - days * 86400000)));
  const lastYear = y - 1;

  const liMing = cli(server, 'li-ming');
  liMing.put(
    'member',
    { name: '王建国', gender: 'male', stage: 'full', birth_date: '1968-05-02', full_on: '1995-07-01' },
    { name: '李秀英', gender: 'female', stage: 'full', birth_date: '1979-03-12', full_on: '2003-07-01' },
    { name: '张伟', gender: 'male', stage: 'full', category: 'migrant', birth_date: '1990-11-20', full_on: '2015-07-01' },
    {
      name: '赵丽', gender: 'female', stage: 'probationary', birth_date: '1996-08-08',
      applied_on: `${lastYear}-03-01`,
      activist_on: `${lastYear}-04-01`,
      target_on: `${lastYear}-10-01`,
      probationary_on: `${month}-01`,
    },
    {
      name: '刘芳', gender: 'female', stage: 'probationary', birth_date: '1993-01-15',
      applied_on: `${lastYear}-02-01`,
      activist_on: `${lastYear}-03-01`,
      target_on: `${lastYear}-09-01`,
      probationary_on: `${month}-01`,
    },
    {
      name: '陈刚', gender: 'male', stage: 'probationary', birth_date: '1988-06-30',
      applied_on: `${lastYear}-01-10`,
      activist_on: `${lastYear}-02-10`,
      target_on: `${lastYear}-08-10`,
      probationary_on: `${month}-01`,
    },
    {
      name: '孙强', gender: 'male', stage: 'activist', birth_date: '1999-04-04',
      applied_on: `${lastYear}-02-10`, activist_on: `${lastYear}-05-01`,
    },
    { name: '周敏', gender: 'female', stage: 'applicant', birth_date: '2001-09-09', applied_on: `${lastYear}-09-15` },
  );
  const activities = [
    ['party_lecture', '学习党章专题党课', { lecturer: '李明' }],
    ['branch_committee_meeting', '支委会：研究冬季帮扶', {}],
    ['party_group_meeting', '党小组会：学习惠农政策', {}],
    ['branch_member_meeting', '党员大会：民主评议党员', {}],
    ['household_visit', '走访脱贫户王大爷', { household: '王大爷家' }],
    ['theme_party_day', '主题党日：清洁家园', {}],
  ];
  liMing.put(
    'activity',
    ...activities.map(([kind, topic, extra], i) => ({
      activity_kind: kind,
      date: back(2 * i),
      topic,
      place: '东风村党群服务中心',
      summary: `${topic}。到会党员积极发言，会后落实到户。`,
      ...extra,
    })),
  );
  const [report] = liMing.put('report', { month, state: 'submitted', narrative: '本月召开支委会、党小组会、党员大会各一次，上党课一次。' });
  liMing.put('project', {
    name: '东风村党群服务中心改造',
    project_kind: 'activity_venue',
    status: 'in_progress',
    funds_planned: 300000,
    funds_spent: 120000,
    progress: 40,
  });
  liMing.sync();

  const wangQiang = cli(server, 'wang-qiang');
  const due = new Date(now.getTime() + 7 * 86400000);
  const late = new Date(now.getTime() - 3 * 86400000);
  wangQiang.put(
    'task',
    { title: '报送第四季度党员发展计划', village: 'chengguan', issuer: '城关镇', assigned_villages: ['dongfeng'], deadline: iso(due) },
    { title: '上报冬季帮扶台账', village: 'chengguan', issuer: '城关镇', assigned_villages: ['dongfeng'], deadline: iso(late) },
  );
  wangQiang.sync();

  const chenJing = cli(server, 'chen-jing');
  chenJing.put('activity', {
    activity_kind: 'theme_party_day',
    date: back(1),
    topic: '主题党日：社区志愿服务',
    place: '红旗社区党群服务站',
  });
  chenJing.sync();

  return {
    month,
    /** 东风村's device and its submitted report of this month. */
    liMing,
    report,
    dongfeng: {
      activities: activities.length,
      topics: activities.map((a) => a[1]),
      /** Party members (full and probationary); applicants and activists are in the pipeline. */
      roster: 6,
      women: 3,
      men: 3,
      developed: 3,
      developedWomen: 2,
      womenPercent: 67,
      target: 3,
      pipeline: ['孙强', '周敏'],
      project: '东风村党群服务中心改造',
      progress: 40,
      overdue: 1,
    },
    hongqi: { activities: 1 },
  };
}

/** Debian's Chromium, headless, through playwright-core. Every context starts empty. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/deps.sh does)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    timeout: 60000,
  });
}

export function screenshotsDir() {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return SCREENSHOTS;
}

export function removeTemps() {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
}
