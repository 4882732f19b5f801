// The office dashboard as the township and the city use it, in Debian's Chromium against a
// real zhucun-server holding real records (put in through the CLI, as devices would): log in,
// read the overview, open a village, export and read the files back, issue an enrolment code
// and enrol a device with it, revoke it and see its next sync refused, and a township officer
// kept inside their township through the UI and the API. Screenshots of every screen go to
// artifacts/screenshots/dashboard-*.png (look at them: they are what office staff see).
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { cli, en, launchBrowser, msg, PASSWORD, removeTemps, screenshotsDir, seed, startServer, zh } from './harness.mjs';

const SHOTS = screenshotsDir();
const VIEWPORT = { width: 1280, height: 800 };
const T = { timeout: 120000 };

let server;
let browser;
let facts;
const contexts = [];
/** Uncaught errors in the dashboard's pages: each fails the test it happened in. */
const pageErrors = [];

before(async () => {
  browser = await launchBrowser();
  server = await startServer();
  // The server's own "today" (its clock picks this month), asked the way the dashboard does.
  const login = await fetch(`${server.url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: 'zhao-min', password: PASSWORD }),
  });
  assert.equal(login.status, 200, await login.clone().text());
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const overview = await (await fetch(`${server.url}/api/overview`, { headers: { cookie } })).json();
  facts = seed(server, overview.today);
});

afterEach(() => {
  assert.deepEqual(pageErrors.splice(0), [], 'the dashboard threw in the browser');
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close().catch(() => {});
  await server?.stop();
  removeTemps();
});

/** A fresh browser context (no cookies, no storage) and its page, in 1280×800. */
async function newPage() {
  const context = await browser.newContext({ viewport: VIEWPORT, acceptDownloads: true, locale: 'zh-CN' });
  contexts.push(context);
  context.setDefaultTimeout(20000);
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // Anything the content security policy blocked would be a broken screen.
  page.on('console', (m) => {
    if (m.type() === 'error' && m.text().includes('Content Security Policy')) pageErrors.push(m.text());
  });
  return page;
}

const byTest = (page, id) => page.getByTestId(id);
const includes = (text, part, why) => assert.ok(text.includes(part), why ?? `«${part}» is not in «${text}»`);
const excludes = (text, part, why) => assert.ok(!text.includes(part), why ?? `«${part}» is in «${text}»`);
const shot = (page, name) => page.screenshot({ path: join(SHOTS, `dashboard-${name}.png`), fullPage: false });

async function login(page, user, password = PASSWORD) {
  await page.goto(`${server.url}/`);
  await byTest(page, 'login-user').fill(user);
  await byTest(page, 'login-password').fill(password);
  await byTest(page, 'login-submit').click();
}

async function loggedIn(page, user) {
  await login(page, user);
  await byTest(page, 'current-user').waitFor();
}

const rowIds = (page) =>
  page.locator('[data-testid="overview-table"] tbody tr[data-village]').evaluateAll((rows) => rows.map((r) => r.dataset.village));

/** Wait until the overview table has `n` village rows. */
const rowCount = (page, n) =>
  page.waitForFunction((n) => document.querySelectorAll('[data-testid="overview-table"] tbody tr[data-village]').length === n, n);

/** Wait until the element `testid` says `text`. */
const says = (page, testid, text) =>
  page.waitForFunction(([id, t]) => document.querySelector(`[data-testid="${id}"]`)?.textContent.includes(t), [testid, text]);

async function overviewRows(page) {
  await page.locator('[data-testid="overview-table"][aria-busy="false"] tbody tr[data-village]').first().waitFor();
  return rowIds(page);
}

describe('the office dashboard in Chromium', () => {
  test('a city officer logs in and reads the overview: numbers, sorting, township filter, English', T, async () => {
    const page = await newPage();
    // The page may run only its own scripts and may not be framed by another site.
    const head = (await page.request.get(`${server.url}/`)).headers();
    includes(head['content-security-policy'] ?? '', "script-src 'self'");
    includes(head['content-security-policy'] ?? '', "frame-ancestors 'none'");
    assert.equal(head['x-frame-options'], 'DENY');
    assert.equal(head['x-content-type-options'], 'nosniff');
    await login(page, 'zhao-min', 'not-the-password');
    const error = byTest(page, 'login-error');
    await error.waitFor();
    assert.equal((await error.textContent()).trim(), msg(zh, 'dashboard.error.bad_login'));
    assert.equal(await error.getAttribute('data-code'), 'bad_login');
    await shot(page, 'login-wrong-password');

    await byTest(page, 'login-password').fill(PASSWORD);
    await byTest(page, 'login-submit').click();
    await byTest(page, 'current-user').waitFor();
    assert.equal(await byTest(page, 'current-user').getAttribute('data-role'), 'city_officer');
    assert.match(await byTest(page, 'current-user').textContent(), /赵敏/);

    const all = await overviewRows(page);
    assert.deepEqual([...all].sort(), ['dongfeng', 'hongqi', 'liuzhuang', 'xinhe']);
    includes(await byTest(page, 'overview-facts').textContent(), msg(zh, 'dashboard.overview.count', { n: 4 }));
    const row = (id) => page.locator(`[data-testid="overview-table"] tr[data-village="${id}"]`);
    const df = row('dongfeng');
    assert.equal(await df.locator('th a').textContent(), '东风村');
    assert.equal((await df.getByTestId('activities').locator('strong').textContent()).trim(), String(facts.dongfeng.activities));
    assert.equal(await df.getByTestId('tmol').getAttribute('data-complete'), 'true');
    assert.equal(await df.locator('[data-state]').first().getAttribute('data-state'), 'submitted');
    includes(await df.locator('[data-state]').first().textContent(), msg(zh, 'dashboard.report_state.submitted'));
    const dev = await df.getByTestId('developed').textContent();
    includes(dev, `${facts.dongfeng.developed}/${facts.dongfeng.target}`);
    const women = msg(zh, 'dashboard.overview.women_share', { n: facts.dongfeng.developedWomen, p: facts.dongfeng.womenPercent });
    includes(dev, women);
    assert.equal(await df.getByTestId('venue').getAttribute('data-value'), String(facts.dongfeng.progress));
    assert.equal((await df.getByTestId('overdue').textContent()).trim(), String(facts.dongfeng.overdue));
    assert.equal(await df.getByTestId('last-sync').getAttribute('data-stale'), 'false');
    const hq = row('hongqi');
    assert.equal((await hq.getByTestId('activities').locator('strong').textContent()).trim(), String(facts.hongqi.activities));
    assert.equal(await hq.getByTestId('tmol').getAttribute('data-complete'), 'false');
    const xh = row('xinhe');
    assert.equal((await xh.getByTestId('activities').locator('strong').textContent()).trim(), '0');
    assert.equal(await xh.getByTestId('last-sync').getAttribute('data-stale'), 'true');
    includes(await xh.getByTestId('last-sync').textContent(), msg(zh, 'dashboard.overview.never'));
    assert.equal(await xh.locator('[data-state]').first().getAttribute('data-state'), 'missing');
    await shot(page, 'overview');

    // Sort by activities: ascending puts 东风村 (the most) last, descending first.
    await byTest(page, 'sort-activities').click();
    const asc = await rowIds(page);
    assert.notDeepEqual(asc, all, 'sorting by activities changed nothing');
    assert.equal(asc.at(-1), 'dongfeng');
    assert.equal(await page.locator('th[aria-sort="ascending"]').count(), 1);
    await byTest(page, 'sort-activities').click();
    const desc = await rowIds(page);
    assert.deepEqual(desc.slice(0, 2), ['dongfeng', 'hongqi']);
    assert.equal(await page.locator('th[aria-sort="descending"]').count(), 1);
    await shot(page, 'overview-sorted');

    // One township only.
    await byTest(page, 'township-filter').selectOption('chengguan');
    await rowCount(page, 2);
    assert.deepEqual((await rowIds(page)).sort(), ['dongfeng', 'xinhe']);
    await shot(page, 'overview-chengguan');
    await byTest(page, 'township-filter').selectOption('');
    await rowCount(page, 4);

    // English and back: the headers follow.
    const header = () => byTest(page, 'sort-activities').textContent();
    includes(await header(), msg(zh, 'dashboard.overview.activities'));
    await byTest(page, 'lang-en').click();
    await says(page, 'sort-activities', msg(en, 'dashboard.overview.activities'));
    includes(await byTest(page, 'sort-name').textContent(), msg(en, 'dashboard.overview.village'));
    includes(await page.locator('h1#overview-title').textContent(), msg(en, 'dashboard.overview.title'));
    await shot(page, 'overview-english');
    await byTest(page, 'lang-zh').click();
    await says(page, 'sort-activities', msg(zh, 'dashboard.overview.activities'));
    includes(await byTest(page, 'sort-name').textContent(), msg(zh, 'dashboard.overview.village'));
  });

  test("东风村's page: timeline, roster, pipeline, projects, tasks", T, async () => {
    const page = await newPage();
    await loggedIn(page, 'zhao-min');
    await overviewRows(page);
    await byTest(page, 'village-link-dongfeng').click();
    await page.waitForURL(/#\/village\/dongfeng$/);
    await byTest(page, 'village-name').waitFor();
    assert.match(await byTest(page, 'village-name').textContent(), /东风村\s*城关镇/);

    const timeline = byTest(page, 'village-timeline');
    for (const topic of facts.dongfeng.topics) {
      assert.equal(await timeline.getByText(topic, { exact: true }).count(), 1, `${topic} is not on the timeline`);
    }
    includes(await timeline.textContent(), msg(zh, 'enum.activity_kind.party_lecture'));

    const roster = byTest(page, 'village-roster');
    includes(await roster.textContent(), msg(zh, 'dashboard.village.roster_total', { n: facts.dongfeng.roster }));
    const genders = byTest(page, 'roster-by_gender');
    assert.equal((await genders.locator('tr[data-key="female"] td.num').textContent()).trim(), String(facts.dongfeng.women));
    assert.equal((await genders.locator('tr[data-key="male"] td.num').textContent()).trim(), String(facts.dongfeng.men));
    assert.equal((await byTest(page, 'roster-by_stage').locator('tr[data-key="probationary"] td.num').textContent()).trim(), '3');

    const pipeline = await byTest(page, 'village-pipeline').textContent();
    for (const name of facts.dongfeng.pipeline) includes(pipeline, name);
    includes(pipeline, msg(zh, 'enum.stage.activist'));

    const dev = await byTest(page, 'village-development').textContent();
    const { developed: n, target } = facts.dongfeng;
    includes(dev, msg(zh, 'dashboard.village.developed_of', { n, target }));

    const project = byTest(page, 'village-projects').locator('tbody tr').filter({ hasText: facts.dongfeng.project });
    assert.equal(await project.count(), 1);
    assert.equal(await project.locator('[role="progressbar"]').getAttribute('aria-valuenow'), String(facts.dongfeng.progress));
    includes(await project.textContent(), msg(zh, 'enum.project_kind.activity_venue'));

    const tasks = byTest(page, 'village-tasks');
    assert.equal(await tasks.locator('tr[data-overdue="true"]').count(), 1);
    assert.match(await tasks.locator('tr[data-overdue="true"]').textContent(), /上报冬季帮扶台账/);
    const report = byTest(page, 'village-reports').locator(`li[data-month="${facts.month}"]`);
    assert.equal(await report.getAttribute('data-state'), 'submitted');
    // The party-life calendar by the model's rule: this month's meetings held, the yearly
    // democratic appraisal still due.
    const life = byTest(page, 'village-party-life');
    assert.equal(await life.locator('li').count(), 7);
    for (const kind of ['party_lecture', 'branch_committee_meeting', 'party_group_meeting', 'branch_member_meeting', 'theme_party_day']) {
      assert.equal(await life.locator(`li[data-kind="${kind}"]`).getAttribute('data-due'), 'false', kind);
    }
    assert.equal(await life.locator('li[data-kind="democratic_appraisal"]').getAttribute('data-due'), 'true');
    includes(await life.textContent(), msg(zh, 'enum.activity_kind.democratic_appraisal'));
    await shot(page, 'village-dongfeng');
    await life.scrollIntoViewIfNeeded();
    await shot(page, 'village-dongfeng-party-life');
    await byTest(page, 'village-timeline').scrollIntoViewIfNeeded();
    await shot(page, 'village-dongfeng-timeline');
  });

  test('the overview exports as XLSX and CSV with Chinese headers', T, async () => {
    const page = await newPage();
    await loggedIn(page, 'zhao-min');
    await overviewRows(page);

    const [xlsx] = await Promise.all([page.waitForEvent('download'), byTest(page, 'export-xlsx').click()]);
    assert.match(xlsx.suggestedFilename(), /\.xlsx$/);
    const xlsxPath = await xlsx.path();
    const book = new ExcelJS.Workbook();
    await book.xlsx.readFile(xlsxPath);
    const sheet = book.worksheets[0];
    const headers = sheet.getRow(1).values.slice(1).map(String);
    assert.ok(headers.includes('村（社区）'), `headers: ${headers.join(', ')}`);
    assert.ok(headers.includes('乡镇（街道）'));
    assert.ok(headers.includes('本月活动'));
    const col = (h) => headers.indexOf(h) + 1;
    const rows = [];
    sheet.eachRow((r, n) => n > 1 && rows.push(r));
    assert.equal(rows.length, 4);
    const df = rows.find((r) => r.getCell(col('村（社区）')).value === '东风村');
    assert.ok(df, 'no row for 东风村');
    assert.equal(df.getCell(col('乡镇（街道）')).value, '城关镇');
    assert.equal(Number(df.getCell(col('本月活动')).value), facts.dongfeng.activities);
    const hq = rows.find((r) => r.getCell(col('村（社区）')).value === '红旗社区');
    assert.equal(Number(hq.getCell(col('本月活动')).value), facts.hongqi.activities);

    const [csv] = await Promise.all([page.waitForEvent('download'), byTest(page, 'export-csv').click()]);
    assert.match(csv.suggestedFilename(), /\.csv$/);
    const bytes = readFileSync(await csv.path());
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the CSV has no byte-order mark');
    const lines = bytes.toString('utf8').slice(1).split(/\r?\n/);
    assert.match(lines[0], /^乡镇（街道）,村（社区）,/);
    assert.ok(lines.some((l) => /^城关镇,东风村,/.test(l)), 'no CSV line for 东风村');
    await shot(page, 'overview-exported');

    // Filtered to one township, the file holds that township's villages only.
    await byTest(page, 'township-filter').selectOption('chengguan');
    await rowCount(page, 2);
    const [town] = await Promise.all([page.waitForEvent('download'), byTest(page, 'export-csv').click()]);
    const townLines = readFileSync(await town.path()).toString('utf8').slice(1).split(/\r?\n/).filter(Boolean);
    assert.equal(townLines.length, 3, `header and 2 villages: ${townLines.join(' | ')}`);
    assert.ok(townLines.slice(1).every((l) => l.startsWith('城关镇,')), townLines.join(' | '));
    await byTest(page, 'township-filter').selectOption('');
    await rowCount(page, 4);
  });

  test('charts and the supervision matrix render', T, async () => {
    const page = await newPage();
    await loggedIn(page, 'zhao-min');
    await byTest(page, 'nav-charts').click();
    await page.waitForURL(/#\/charts$/);
    for (const id of ['chart-activities', 'chart-development', 'chart-reports']) {
      const svg = byTest(page, id).locator('svg').first();
      await svg.waitFor();
      const box = await svg.boundingBox();
      assert.ok(box && box.width > 100 && box.height > 50, `${id} has no visible SVG`);
    }
    assert.match(await byTest(page, 'chart-development-table').textContent(), /东风村/);
    await shot(page, 'charts');

    await byTest(page, 'nav-supervision').click();
    await page.waitForURL(/#\/supervision$/);
    const cell = byTest(page, 'supervision-matrix').locator(`tr[data-village="dongfeng"] td[data-month="${facts.month}"]`);
    await cell.waitFor();
    assert.equal(await cell.getAttribute('data-state'), 'submitted');
    const missing = byTest(page, 'supervision-matrix').locator(`tr[data-village="xinhe"] td[data-month="${facts.month}"]`);
    assert.equal(await missing.getAttribute('data-state'), 'missing');
    assert.equal(await byTest(page, 'supervision-matrix').locator('tbody tr[data-village]').count(), 4);
    await shot(page, 'supervision');
  });

  test('admin: a code issued in the dashboard enrols a CLI device; revoking it refuses its next sync', T, async () => {
    const page = await newPage();
    await loggedIn(page, 'admin');
    await page.goto(`${server.url}/#/admin/codes`);
    await byTest(page, 'code-form').waitFor();
    await byTest(page, 'code-person').selectOption('zhang-hua');
    await byTest(page, 'issue-code').click();
    const codeText = (await byTest(page, 'enrol-code').textContent()).trim();
    assert.match(codeText, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    const qr = byTest(page, 'enrol-qr').locator('svg');
    await qr.waitFor();
    const box = await qr.boundingBox();
    assert.ok(box.width > 100 && box.height > 100, 'the QR code is not visible');
    assert.match(await byTest(page, 'issued-code').textContent(), /张华/);
    await shot(page, 'admin-code');

    const device = cli(server, 'zhang-hua', { code: codeText, name: '张华的笔记本' });
    assert.equal(device.enrolled.person, 'zhang-hua');
    const stats = device.sync();
    assert.equal(stats.pending, 0);

    await byTest(page, 'admin-tab-devices').click();
    await page.waitForURL(/#\/admin\/devices$/);
    await page.getByRole('button', { name: msg(zh, 'dashboard.admin.reload') }).click();
    const row = byTest(page, 'devices-table').locator(`tr[data-device="${device.device}"]`);
    await row.waitFor();
    const text = await row.textContent();
    assert.match(text, /张华的笔记本/);
    assert.match(text, /张华/);
    excludes(text, msg(zh, 'dashboard.admin.never_seen'), 'the device has no last seen after its sync');
    includes(text, msg(zh, 'dashboard.admin.active'));
    await shot(page, 'admin-devices');

    await byTest(page, `revoke-${device.device}`).click();
    await byTest(page, `revoke-confirm-${device.device}`).waitFor();
    await shot(page, 'admin-revoke-confirm');
    await byTest(page, `revoke-confirm-${device.device}`).click();
    await page.locator(`tr[data-device="${device.device}"][data-revoked="true"]`).waitFor();
    const notice = await byTest(page, 'admin-notice').textContent();
    includes(notice, msg(zh, 'dashboard.admin.revoked_done', { name: '张华的笔记本' }));
    assert.equal(await byTest(page, `revoke-${device.device}`).count(), 0);
    await shot(page, 'admin-revoked');

    const refused = device.attempt(['sync']);
    assert.notEqual(refused.status, 0, `sync of a revoked device succeeded: ${refused.stdout}`);
    assert.match(refused.stderr, /device_revoked/);
    assert.match(refused.stderr, /revoked/);
  });

  test('a township officer sees only their township, in the UI and through the API', T, async () => {
    const page = await newPage();
    await loggedIn(page, 'wang-qiang');
    assert.equal(await byTest(page, 'current-user').getAttribute('data-role'), 'township_officer');
    assert.deepEqual((await overviewRows(page)).sort(), ['dongfeng', 'xinhe']);
    assert.equal(await byTest(page, 'nav-admin').count(), 0, 'a township officer sees the administration');
    await shot(page, 'township-overview');

    await page.goto(`${server.url}/#/village/liuzhuang`);
    const error = byTest(page, 'village-error');
    await error.waitFor();
    assert.equal((await error.textContent()).trim(), msg(zh, 'dashboard.error.out_of_scope'));
    assert.equal(await byTest(page, 'village-name').count(), 0);
    assert.doesNotMatch(await page.locator('main').textContent(), /柳庄村/);
    await shot(page, 'township-out-of-scope');

    // The same session's cookie, straight at the API.
    const api = page.request;
    const village = await api.get(`${server.url}/api/villages/liuzhuang`);
    assert.equal(village.status(), 403);
    assert.equal((await village.json()).code, 'out_of_scope');
    const own = await api.get(`${server.url}/api/villages/dongfeng`);
    assert.equal(own.status(), 200);
    const csv = await api.get(`${server.url}/api/export/activities.csv?village=hongqi`);
    assert.equal(csv.status(), 403);
    assert.equal((await csv.json()).code, 'out_of_scope');
    const overview = await (await api.get(`${server.url}/api/overview`)).json();
    assert.deepEqual(overview.villages.map((v) => v.id).sort(), ['dongfeng', 'xinhe']);
    const devices = await api.get(`${server.url}/api/admin/devices`);
    assert.equal(devices.status(), 403);
    assert.equal((await devices.json()).code, 'forbidden');

    // State changes need the CSRF header, whatever the cookie.
    const session = await (await api.get(`${server.url}/api/session`)).json();
    const noHeader = await api.post(`${server.url}/api/admin/codes`, { data: { person: 'li-ming', hours: 1 } });
    assert.equal(noHeader.status(), 403);
    assert.equal((await noHeader.json()).code, 'csrf');
    const logout = await api.post(`${server.url}/api/logout`);
    assert.equal(logout.status(), 403);
    assert.equal((await logout.json()).code, 'csrf');
    const withHeader = await api.post(`${server.url}/api/admin/codes`, {
      data: { person: 'li-ming', hours: 1 },
      headers: { 'X-CSRF-Token': session.csrf },
    });
    assert.equal(withHeader.status(), 403);
    assert.equal((await withHeader.json()).code, 'forbidden');
    // The session survived the refused logout.
    assert.equal((await api.get(`${server.url}/api/session`)).status(), 200);
  });
  test('a township officer issues a task from the dashboard; the village answers offline; the answer shows', T, async () => {
    const page = await newPage();
    await loggedIn(page, 'wang-qiang');
    await byTest(page, 'nav-tasks').click();
    await byTest(page, 'task-form').waitFor();
    // Nothing chosen: said before anything is sent, and what was typed stays.
    const title = '报送冬季送温暖走访名单';
    await byTest(page, 'task-title').fill(title);
    await byTest(page, 'task-issue').click();
    await says(page, 'task-error', msg(zh, 'dashboard.tasks.incomplete'));
    assert.equal(await byTest(page, 'task-title').inputValue(), title);
    await byTest(page, 'task-deadline').fill('2026-12-25');
    await byTest(page, 'task-description').fill('请各村于截止日前报送。');
    await byTest(page, 'task-village-dongfeng').check();
    await byTest(page, 'task-village-xinhe').check();
    // 红旗社区 belongs to another street: the township is not offered it.
    assert.equal(await byTest(page, 'task-village-hongqi').count(), 0);
    // A form to fill in goes with it: sent as it is picked, listed by name.
    const form = Buffer.from('户主,人口,走访日期\n'.repeat(5000));
    await byTest(page, 'task-file-input').setInputFiles({ name: '走访名单样表.csv', mimeType: 'text/csv', buffer: form });
    const picked = byTest(page, 'task-files').locator('li');
    await picked.waitFor();
    includes(await picked.textContent(), '走访名单样表.csv');
    await shot(page, 'tasks-form');
    await byTest(page, 'task-issue').click();
    await says(page, 'task-notice', title);
    const row = byTest(page, 'task-board').locator('tr').filter({ hasText: title });
    await row.waitFor();
    assert.equal(await row.getAttribute('data-status'), 'open');
    // The file is on the task, and the link gives back the same bytes.
    const link = row.locator('[data-testid="task-attachments"] a');
    assert.equal(await link.textContent(), '走访名单样表.csv');
    const got = await page.request.get(`${server.url}${await link.getAttribute('href')}`);
    assert.equal(got.status(), 200);
    assert.ok(Buffer.from(await got.body()).equals(form), 'the file came back changed');

    // 东风村's device gets it on its next sync and answers offline.
    const li = facts.liMing;
    li.sync();
    const found = JSON.parse(li.run(['list', 'task', '--json']));
    const task = (found.rows ?? found).find((r) => r.title === title);
    assert.ok(task, `the task did not reach the village: ${JSON.stringify(found)}`);
    // With its file, which the village's device fetches from the server.
    const onDevice = JSON.parse(li.run(['get', task.id, '--json']));
    const file = (onDevice.record ?? onDevice).attachments[0];
    assert.equal(file.name, '走访名单样表.csv');
    li.run(['blob', 'fetch', file.hash]);
    li.run(['put', 'task'], JSON.stringify({
      id: task.id,
      status: 'in_progress',
      notes: [{ by: 'li-ming', village: 'dongfeng', on: '2026-12-05', text: '名单正在核对' }],
    }));
    li.sync();

    await page.reload();
    const answered = byTest(page, 'task-board').locator(`tr[data-id="${task.id}"]`);
    await answered.waitFor();
    assert.equal(await answered.getAttribute('data-status'), 'in_progress');
    includes(await answered.locator('li[data-village="dongfeng"]').textContent(), '名单正在核对');
    includes(await answered.locator('li[data-village="xinhe"]').textContent(), msg(zh, 'dashboard.tasks.no_answer'));
    await shot(page, 'tasks-board');
  });

  // Last: it moves 东风村's report on from the submitted state the other tests read.
  test('a township officer returns a report with a comment; the village resubmits; the township accepts; history shows each move', T, async () => {
    const page = await newPage();
    await loggedIn(page, 'wang-qiang');
    await byTest(page, 'nav-review').click();
    const row = byTest(page, 'review-queue').locator(`tr[data-id="${facts.report}"]`);
    await row.waitFor();
    includes(await row.textContent(), '东风村');
    await shot(page, 'review-queue');
    await row.locator('a').click();
    await says(page, 'review-narrative', '本月召开支委会');
    await byTest(page, 'report-figures').waitFor();

    // Returning needs a comment: said before anything is sent.
    await byTest(page, 'review-return').click();
    await says(page, 'review-error', msg(zh, 'dashboard.review.comment_needed'));
    const comment = '请补充本月发展党员工作情况';
    await byTest(page, 'review-comment').fill(comment);
    await shot(page, 'review-report');
    await byTest(page, 'review-return').click();
    await page.locator('[data-testid="review-report"][data-state="returned"]').waitFor();
    await says(page, 'review-notice', msg(zh, 'dashboard.review.returned'));
    await page.locator(`[data-testid="review-queue"] tr[data-id="${facts.report}"]`).waitFor({ state: 'detached' });

    // The village device sees the comment after its next sync, and may not accept its own report.
    const li = facts.liMing;
    li.sync();
    const got = JSON.parse(li.run(['get', facts.report, '--json'])).record;
    assert.equal(got.state, 'returned');
    assert.equal(got.review_comment, comment);
    assert.equal(got.reviewed_by, 'wang-qiang');
    const selfAccept = (() => {
      try {
        li.run(['put', 'report'], JSON.stringify({ id: facts.report, state: 'accepted' }));
        return null;
      } catch (e) {
        return String(e.stderr ?? e);
      }
    })();
    assert.ok(selfAccept, 'a village device accepted its own report');
    assert.match(selfAccept, /accepted/);

    // Revised and resubmitted.
    li.run(['put', 'report'], JSON.stringify({ id: facts.report, state: 'submitted', narrative: '本月召开支委会、党小组会、党员大会各一次，上党课一次；发展党员：入党积极分子一名完成考察。' }));
    li.sync();

    await page.reload();
    const again = byTest(page, 'review-queue').locator(`tr[data-id="${facts.report}"]`);
    await again.waitFor();
    await again.locator('a').click();
    await says(page, 'review-narrative', '发展党员');
    await byTest(page, 'review-accept').click();
    await page.locator('[data-testid="review-report"][data-state="accepted"]').waitFor();
    await says(page, 'review-notice', msg(zh, 'dashboard.review.accepted'));

    // The history: the submission, the return, the resubmission and the acceptance, each with
    // who made it (the server's receipt) and when.
    const moves = await byTest(page, 'review-history')
      .locator('li')
      .evaluateAll((items) =>
        items
          .filter((li) => li.dataset.fields.split(',').includes('state'))
          .map((li) => ({ who: li.querySelector('.who').textContent.trim(), when: li.querySelector('.muted').textContent.trim() })),
      );
    assert.deepEqual(
      moves.map((m) => m.who),
      ['李明', '王强', '李明', '王强'],
      JSON.stringify(moves),
    );
    for (const m of moves) assert.match(m.when, /\d{1,2}:\d{2}/, `no receipt time in ${JSON.stringify(m)}`);
    await shot(page, 'review-history');
    li.sync();
    assert.equal(JSON.parse(li.run(['get', facts.report, '--json'])).record.state, 'accepted');
  });
  test('the township approves a development step: a date the rules refuse names the rule and keeps the date; the village gets the approval', T, async () => {
    const li = facts.liMing;
    const [wang] = li.put('member', { name: '王介绍', stage: 'full', full_on: '2005-07-01' });
    const [zhang] = li.put('member', { name: '张介绍', stage: 'full', full_on: '2008-07-01' });
    const [target] = li.put('member', {
      name: '周发展', gender: 'female', stage: 'development_target', applied_on: '2024-03-01',
      talked_on: '2024-03-20', activist_on: '2024-05-01', target_on: '2025-06-01',
      introducers: [wang, zhang], political_review_on: '2026-03-01', training_hours: 24,
    });
    li.sync();

    const page = await newPage();
    await loggedIn(page, 'wang-qiang');
    await byTest(page, 'nav-approvals').click();
    const row = byTest(page, 'approvals').locator(`tr[data-id="${target}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-step'), 'pre_review');
    includes(await row.textContent(), '周发展');
    includes(await row.textContent(), msg(zh, 'dashboard.approvals.step_name.pre_review'));
    // A pre-review before the person became a development target: refused, the rule named,
    // the date kept as typed.
    await row.getByTestId('approval-date').fill('2025-05-01');
    await row.getByTestId('approve').click();
    await says(page, 'approval-error', msg(zh, 'pipeline.rule.pre_review'));
    assert.equal(await row.getByTestId('approval-date').inputValue(), '2025-05-01');
    await shot(page, 'approvals');
    await row.getByTestId('approval-date').fill('2026-05-20');
    await row.getByTestId('approve').click();
    await says(page, 'approval-notice', '周发展');
    assert.equal(await page.locator(`tr[data-id="${target}"]`).count(), 0);

    // The village's device gets the approval on its next sync; the next step says what is left.
    li.sync();
    assert.equal(JSON.parse(li.run(['get', target, '--json'])).record.prereview_on, '2026-05-20');
    assert.deepEqual(JSON.parse(li.run(['next-step', target])).missing, ['public_notice', 'branch_vote']);
  });
  test("the township sets a village's yearly targets; the overview compares each figure with the month before and a year before", T, async () => {
    const page = await newPage();
    await loggedIn(page, 'wang-qiang');
    await page.goto(`${server.url}/#/village/dongfeng`);
    const form = byTest(page, 'target-form');
    await form.waitFor();
    // Above the rules' range: refused, the numbers kept as typed.
    await byTest(page, 'target-count').fill('6');
    await byTest(page, 'target-women').fill('40');
    await byTest(page, 'target-save').click();
    await byTest(page, 'target-error').waitFor();
    assert.equal(await byTest(page, 'target-count').inputValue(), '6');
    await byTest(page, 'target-count').fill('5');
    await byTest(page, 'target-save').click();
    await says(page, 'target-notice', msg(zh, 'dashboard.village.targets_saved'));
    await says(page, 'women-target', '40%');
    includes(await byTest(page, 'village-development').textContent(), '5');
    await shot(page, 'village-targets');

    // The city reads the targets but is not offered the form (and the server would refuse it).
    const city = await newPage();
    await loggedIn(city, 'zhao-min');
    await city.goto(`${server.url}/#/village/dongfeng`);
    await byTest(city, 'village-development').waitFor();
    assert.equal(await byTest(city, 'target-form').count(), 0);

    // The overview: each figure beside the month before and the same month a year before.
    await page.goto(`${server.url}/#/overview`);
    const compare = byTest(page, 'overview-compare');
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="overview-compare"] [data-figure="activities"]');
      return !!el && el.dataset.prev !== '' && el.dataset.lastYear !== '';
    });
    for (const f of ['activities', 'submitted', 'developed']) {
      const el = compare.locator(`[data-figure="${f}"]`);
      for (const a of ['data-now', 'data-prev', 'data-last-year']) assert.match(await el.getAttribute(a), /^\d+$/, `${f} ${a}`);
    }
    includes(await compare.textContent(), '去年同月');
    // Every figure, each kind of activity on its own row, in the table beneath.
    const all = byTest(page, 'overview-compare-all');
    await all.locator('summary').click();
    const now = await compare.locator('[data-figure="activities"]').getAttribute('data-now');
    assert.equal(await all.locator('tr[data-figure="activities"] td[data-col="now"]').textContent(), now);
    assert.ok((await all.locator('tr[data-figure^="kind."]').count()) > 0, 'no kind of activity compared');
    for (const f of ['submitted', 'developed', 'women']) {
      for (const c of ['now', 'prev', 'last-year']) {
        assert.match(await all.locator(`tr[data-figure="${f}"] td[data-col="${c}"]`).textContent(), /^\d+$/, `${f} ${c}`);
      }
    }
    // Counted as they stand today, these have no earlier month to compare with.
    for (const f of ['in_pipeline', 'overdue']) assert.equal(await all.locator(`tr[data-figure="${f}"]`).count(), 0, f);
    await shot(page, 'overview-compare');
  });
});
