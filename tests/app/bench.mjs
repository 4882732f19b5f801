// Field-app figures against the targets in DESIGN/issue: cold start to the PIN screen, search
// end to end and scrolling over 10,000 activities, and saving while a big sync runs. Runs the
// real built app under Xvfb through tauri-driver, like the e2e suite, and prints JSON lines.
//   scripts/app-bench            (release build; results in artifacts/app-bench.json)
import { spawn } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { remote } from 'webdriverio';
import { startServer, cli, tempDir, ROOT } from './harness.mjs';

const PIN = '428571';
const PROFILE = process.env.ZHUCUN_PROFILE || 'release';
const APP = join(process.env.CARGO_TARGET_DIR || join(ROOT, 'target'), PROFILE, 'zhucun-app');
const RECORDS = Number(process.env.ZHUCUN_BENCH_RECORDS || 10000);
const results = [];
const report = (r) => {
  results.push(r);
  console.log(JSON.stringify(r));
};

// The app inherits its environment from tauri-driver: set the data directory first.
const dataDir = tempDir('bench-app');
process.env.ZHUCUN_DATA_DIR = dataDir;
const driver = spawn(process.env.TAURI_DRIVER || 'tauri-driver', ['--port', '4446', '--native-port', '4447'], { stdio: 'inherit', env: process.env });
await new Promise((r) => setTimeout(r, 1000));

async function session() {
  return remote({
    hostname: '127.0.0.1',
    port: 4446,
    logLevel: 'error',
    capabilities: {
      browserName: 'wry',
      'wdio:enforceWebDriverClassic': true,
      'tauri:options': { application: APP },
    },
  });
}

const server = await startServer();
try {
  // Enrol the app, then put RECORDS activities on the server from another device.
  let b = await session();
  await (await b.$('input[name="server"]')).waitForDisplayed({ timeout: 30000 });
  await (await b.$('input[name="server"]')).setValue(server.url);
  await (await b.$('input[name="code"]')).setValue(server.code('li-ming'));
  await (await b.$('[data-testid="enroll-step1"] button[type="submit"]')).click();
  await (await b.$('input[name="pin"]')).waitForDisplayed();
  await (await b.$('input[name="pin"]')).setValue(PIN);
  await (await b.$('input[name="pin2"]')).setValue(PIN);
  await (await b.$('[data-testid="enroll-step2"] button[type="submit"]')).click();
  await (await b.$('[data-testid="new-activity"]')).waitForDisplayed({ timeout: 60000 });

  const office = cli(server, 'li-ming');
  const kinds = ['party_lecture', 'household_visit', 'theme_party_day', 'branch_committee_meeting', 'training_lecture'];
  const lines = [];
  for (let i = 0; i < RECORDS; i++) {
    const k = kinds[i % kinds.length];
    const rec = {
      activity_kind: k,
      date: `2026-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`,
      topic: `${['学习党章', '走访农户', '清洁家园', '研究帮扶', '电商培训'][i % 5]} 第${i}次`,
      summary: '了解家庭收入、务工和子女上学情况，宣讲惠农政策，记录困难和诉求。'.repeat(3),
    };
    if (k === 'party_lecture' || k === 'training_lecture') rec.lecturer = '李明';
    if (k === 'household_visit') rec.household = `${i}号户`;
    lines.push(JSON.stringify(rec));
  }
  office.run(['put', 'activity', '--lines'], `${lines.join('\n')}\n`);
  office.sync();

  // Saving while the app pulls them all: typing must not wait for sync.
  await b.execute(() => (location.hash = '#/home'));
  await (await b.$('[data-testid="sync-now"]')).click();
  const saves = await b.executeAsync(async (done) => {
    const { invoke } = window.__TAURI_INTERNALS__;
    const times = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await invoke('save_record', {
        kind: 'activity',
        fields: { activity_kind: 'household_visit', date: '2026-11-25', topic: `同步中保存 ${i}`, household: '张家' },
      });
      times.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 50));
    }
    const s = await invoke('sync_status');
    done({ times, state: s.state });
  });
  const inOrder = saves.times.map((t) => Math.round(t));
  saves.times.sort((x, y) => x - y);
  report({ figure: 'save while syncing (ms)', p50: saves.times[10], max: saves.times.at(-1), in_order: inOrder, sync_state_at_end: saves.state });
  await b.waitUntil(
    async () => (await (await b.$('[data-testid="sync-card"]')).getAttribute('data-state')) === 'idle',
    { timeout: 600000, interval: 500 },
  );

  // Search end to end: from the keystroke to the rows on screen.
  await b.execute(() => (location.hash = '#/activities'));
  await (await b.$('[data-testid="list-total"]')).waitForDisplayed();
  const search = [];
  for (const word of ['党章', '走访', '培训', '清洁', '帮扶', '农户', '第123次', '不存在的词']) {
    const ms = await b.executeAsync(async (w, done) => {
      const box = document.querySelector('[data-testid="search"]');
      box.value = '';
      box.dispatchEvent(new Event('input', { bubbles: true }));
      await new Promise((r) => setTimeout(r, 300));
      const t = performance.now();
      box.value = w;
      box.dispatchEvent(new Event('input', { bubbles: true }));
      const deadline = t + 5000;
      for (;;) {
        const c = document.querySelector('[data-testid="search-count"]');
        if (c && c.textContent.length) break;
        if (performance.now() > deadline) break;
        await new Promise((r) => requestAnimationFrame(r));
      }
      // The 40 ms typing pause before searching is part of what a user waits for.
      done(performance.now() - t);
    }, word);
    search.push(ms);
  }
  search.sort((x, y) => x - y);
  report({ figure: `search end to end, ${RECORDS} activities (ms, incl. the 40 ms typing pause)`, p50: search[4], max: search.at(-1) });

  // Scrolling the whole list: frames longer than 50 ms while flinging through it.
  await b.execute(() => {
    const box = document.querySelector('[data-testid="search"]');
    box.value = '';
    box.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await (await b.$('[data-testid="virtual-list"]')).waitForDisplayed();
  await b.pause(500);
  const scroll = await b.executeAsync(async (done) => {
    // The frame interval of this display with nothing moving, to compare against.
    const idle = [];
    let t0 = performance.now();
    for (let i = 0; i < 60; i++) {
      await new Promise((r) => requestAnimationFrame(r));
      const n = performance.now();
      idle.push(n - t0);
      t0 = n;
    }
    idle.sort((x, y) => x - y);
    const v = document.querySelector('[data-testid="virtual-list"]');
    const total = Number(v.dataset.total);
    const frames = [];
    let last = performance.now();
    const step = 2000; // px per frame: a fast fling
    while (v.scrollTop + v.clientHeight < v.scrollHeight - 1) {
      v.scrollTop += step;
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      frames.push(now - last);
      last = now;
    }
    frames.sort((x, y) => x - y);
    const rows = v.querySelectorAll('[data-testid="record-row"]').length;
    done({ idle_p50: idle[30], total, frames: frames.length, p50: frames[Math.floor(frames.length / 2)], p95: frames[Math.floor(frames.length * 0.95)], max: frames.at(-1), over50: frames.filter((f) => f > 50).length, rows_in_dom: rows });
  });
  report({ figure: 'scroll through the list (frame ms)', ...scroll });
  await b.deleteSession();

  // Cold start to the PIN screen, five times.
  const starts = [];
  for (let i = 0; i < 5; i++) {
    const t = Date.now();
    b = await session();
    await (await b.$('[data-testid="lock"]')).waitForDisplayed({ timeout: 30000, interval: 20 });
    starts.push(Date.now() - t);
    await b.deleteSession();
  }
  starts.sort((x, y) => x - y);
  report({ figure: 'cold start to the PIN screen (ms, incl. WebDriver session set-up)', p50: starts[2], max: starts.at(-1), runs: starts });
} finally {
  server.stop();
  driver.kill();
  mkdirSync(join(ROOT, 'artifacts'), { recursive: true });
  writeFileSync(join(ROOT, 'artifacts', 'app-bench.json'), JSON.stringify(results, null, 2));
}
