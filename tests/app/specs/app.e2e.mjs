// The field app as a first secretary meets it: enrol against a real server, record an
// activity with Chinese text and a photo, quit, unlock with the PIN, find it by a
// two-character word, sync, and see records cross between the app and a second client (the
// CLI). Screenshots of every main screen are saved for people to look at.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, cli, bin, ROOT } from '../harness.mjs';
import { SCREENSHOTS } from '../wdio.conf.mjs';

const PIN = '428571';
const TOPIC = '学习党章专题党课';
const SUMMARY = '围绕党章第一章学习讨论，王书记讲授党员义务，与会党员结合村集体经济发展谈体会。';
let server;
let office; // the CLI, as a second device of the same village

const byTest = (id) => $(`[data-testid="${id}"]`);
const shot = (name) => browser.saveScreenshot(join(SCREENSHOTS, `${name}.png`));

/** Type into an input; WebDriver's keystrokes can drop CJK on some engines, so check. */
async function fill(el, text) {
  await el.waitForDisplayed();
  await el.setValue(text);
  if ((await el.getValue()) !== text) {
    await browser.execute(
      (e, v) => {
        e.value = v;
        e.dispatchEvent(new Event('input', { bubbles: true }));
      },
      el,
      text,
    );
  }
}

/** What an element says (textContent: WebKitWebDriver's getText skips ellipsised text). */
const contentOf = (el) => browser.execute((e) => e.textContent, el);

async function textOf(id) {
  const el = await byTest(id);
  await el.waitForDisplayed();
  return contentOf(el);
}

async function go(screen) {
  await browser.execute((s) => (location.hash = `#/${s}`), screen);
}

async function enrolAttempt(url, code) {
  const step1 = await byTest('enroll-step1');
  await step1.waitForDisplayed();
  await fill(await $('input[name="server"]'), url);
  await fill(await $('input[name="code"]'), code);
  await (await step1.$('button[type="submit"]')).click();
  await (await byTest('enroll-step2')).waitForDisplayed();
  await fill(await $('input[name="pin"]'), PIN);
  await fill(await $('input[name="pin2"]'), PIN);
  await (await $('[data-testid="enroll-step2"] button[type="submit"]')).click();
}

async function waitSynced() {
  await browser.waitUntil(
    async () => {
      const card = await byTest('sync-card');
      if (!(await card.isExisting())) return false;
      return (await card.getAttribute('data-state')) === 'idle' && (await card.getAttribute('data-pending')) === '0';
    },
    { timeout: 30000, timeoutMsg: 'the app did not finish syncing' },
  );
}

async function search(text) {
  await go('activities');
  const box = await byTest('search');
  await fill(box, text);
  const results = await byTest('search-results');
  await browser.waitUntil(async () => (await results.$$('[data-testid="record-row"]')).length > 0, {
    timeoutMsg: `nothing found for ${text}`,
  });
  return contentOf(results);
}

describe('the field app', () => {
  before(async () => {
    server = await startServer();
    office = cli(server, 'li-ming');
    // The village's roster and a task from the township, already on the server.
    for (const [name, gender] of [['王建国', 'male'], ['李秀英', 'female'], ['张伟', 'male']]) {
      office.put('member', { name, gender, stage: 'full', category: 'resident' });
    }
    office.sync();
    const township = cli(server, 'wang-qiang');
    const inAWeek = new Date(Date.now() + 7 * 86400e3).toISOString().slice(0, 10);
    township.put('task', {
      title: '报送第四季度党员发展计划',
      village: 'chengguan',
      issuer: '城关镇',
      assigned_villages: ['dongfeng'],
      deadline: inAWeek,
    });
    township.sync();
  });
  after(() => server?.stop());

  it('says clearly when the server cannot be reached or the code is wrong', async () => {
    await shot('01-first-run');
    await enrolAttempt('http://127.0.0.1:9', 'ABCD2345');
    const err = await textOf('enroll-error');
    assert.match(err, /连不上服务器/);
    await enrolAttempt(server.url, 'WRONG234');
    assert.match(await textOf('enroll-error'), /登记码/);
    await shot('02-enrol-error');
  });

  it('enrols with a one-time code and a PIN, and shows the home screen', async () => {
    await enrolAttempt(server.url, server.code('li-ming'));
    await (await byTest('new-activity')).waitForDisplayed({ timeout: 30000 });
    await waitSynced();
    const home = await contentOf(await $('main'));
    assert.match(home, /李明/);
    assert.match(home, /报送第四季度党员发展计划/, 'the township task arrived with the first sync');
    await shot('03-home');
  });

  it('records an activity with Chinese text, attendees and a photo', async () => {
    await go('activities/new');
    const form = await byTest('form-activity');
    await form.waitForDisplayed();
    await fill(await form.$('input[name="topic"]'), TOPIC);
    await fill(await form.$('input[name="lecturer"]'), '王书记');
    await fill(await form.$('input[name="place"]'), '东风村党群服务中心');
    await fill(await form.$('textarea[name="summary"]'), SUMMARY);
    const attendees = await byTest('attendees');
    await browser.waitUntil(async () => (await attendees.$$('label.pick')).length === 3, {
      timeoutMsg: 'the roster did not load',
    });
    await (await attendees.$('label.pick=王建国')).click();
    await (await attendees.$('label.pick=李秀英')).click();
    const png = readFileSync(join(ROOT, 'src-tauri', 'icons', '128x128.png')).toString('base64');
    await browser.execute((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const file = new File([bytes], '活动照片.png', { type: 'image/png' });
      const dt = new DataTransfer();
      dt.items.add(file);
      const input = document.querySelector('[data-testid="photo-input"]');
      input.files = dt.files;
      input.dispatchEvent(new Event('change', { bubbles: true }));
    }, png);
    await (await byTest('thumb')).waitForDisplayed();
    await shot('04-activity-form');
    await (await byTest('save')).click();
    await (await byTest('list-total')).waitForDisplayed();
    const list = await byTest('virtual-list');
    await browser.waitUntil(async () => (await contentOf(list)).includes(TOPIC), { timeoutMsg: 'not in the list' });
    await shot('05-activities');
  });

  it('refuses a party lecture without a lecturer and names the field', async () => {
    await go('activities/new');
    const form = await byTest('form-activity');
    await form.waitForDisplayed();
    await fill(await form.$('input[name="topic"]'), '没有授课人的党课');
    await (await byTest('save')).click();
    assert.match(await textOf('form-error'), /授课人/);
    await shot('06-form-error');
    await go('activities');
  });

  it('keeps the record across a restart, behind the PIN, and finds it by a two-character word', async () => {
    await browser.reloadSession();
    const lock = await byTest('lock');
    await lock.waitForDisplayed({ timeout: 30000 });
    await shot('07-lock');
    await fill(await $('input[name="pin"]'), '000000');
    await (await lock.$('button[type="submit"]')).click();
    assert.match(await textOf('lock-error'), /PIN/);
    await fill(await $('input[name="pin"]'), PIN);
    await (await lock.$('button[type="submit"]')).click();
    await (await byTest('new-activity')).waitForDisplayed({ timeout: 30000 });
    const found = await search('党章');
    assert.match(found, new RegExp(TOPIC));
    await shot('08-search');
  });

  it('syncs: the CLI sees the app\'s activity, and the app sees the CLI\'s', async () => {
    await go('home');
    await (await byTest('sync-now')).click();
    await waitSynced();
    office.sync();
    const hits = office.search('党章');
    const mine = hits.find((h) => h.title === TOPIC);
    assert.ok(mine, `the CLI did not get the app's activity: ${JSON.stringify(hits)}`);
    const rec = office.get(mine.id);
    assert.equal(rec.record.summary, SUMMARY);
    assert.equal(rec.record.attendees.length, 2);
    assert.equal(rec.record.attachments.length, 1);
    // The photo itself reached the server: the CLI downloads it, byte for byte.
    const photo = rec.record.attachments[0];
    office.run(['blob', 'fetch', photo.hash]);
    const bytes = execFileSync(bin('zhucun'), ['blob', 'get', photo.hash], {
      env: { ...process.env, ZHUCUN_KEY: 'e2e-cli-key', ZHUCUN_DATA_DIR: office.dir },
    });
    assert.deepEqual(bytes, readFileSync(join(ROOT, 'src-tauri', 'icons', '128x128.png')));
    assert.equal(photo.name, '活动照片.png');

    office.put('activity', {
      activity_kind: 'household_visit',
      date: '2026-11-24',
      topic: '走访脱贫户王大爷',
      household: '王大爷家',
      summary: '了解冬季取暖和用药情况。',
    });
    office.sync();
    await go('home');
    await (await byTest('sync-now')).click();
    await waitSynced();
    const found = await search('走访');
    assert.match(found, /走访脱贫户王大爷/);
  });

  it('shows every main screen (screenshots)', async () => {
    for (const [screen, name] of [
      ['home', '09-home-synced'],
      ['activities', '10-activities-synced'],
      ['members', '11-members'],
      ['projects', '12-projects'],
      ['tasks', '13-tasks'],
      ['report', '14-report'],
      ['settings', '15-settings'],
    ]) {
      await go(screen);
      await browser.pause(400);
      await shot(name);
    }
    // An edit, then the record's history: who changed which fields.
    await search('党章');
    await (await $(`[data-testid="search-results"] [data-testid="record-row"]`)).click();
    const form = await byTest('form-activity');
    await form.waitForDisplayed();
    await fill(await form.$('input[name="place"]'), '村委会二楼会议室');
    await (await byTest('save')).click();
    await (await byTest('list-total')).waitForDisplayed();
    await search('党章');
    await (await $(`[data-testid="search-results"] [data-testid="record-row"]`)).click();
    assert.equal(await (await $('input[name="place"]')).getValue(), '村委会二楼会议室');
    await (await byTest('history-link')).click();
    const history = await byTest('history');
    await browser.waitUntil(async () => (await history.$$('li')).length === 2, { timeoutMsg: 'two changes' });
    const said = await contentOf(history);
    assert.match(said, /li-ming/);
    assert.match(said, /修改了：地点/);
    assert.match(said, /新建了这条记录/);
    await shot('16-history');
  });

  it('fits a 360×740 phone screen', async () => {
    await browser.setWindowSize(360, 740);
    for (const [screen, name] of [
      ['home', '17-phone-home'],
      ['activities', '18-phone-activities'],
      ['activities/new', '19-phone-form'],
      ['members', '20-phone-members'],
    ]) {
      await go(screen);
      await browser.pause(400);
      const overflow = await browser.execute(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      assert.ok(overflow <= 1, `${screen} scrolls sideways by ${overflow}px at 360px`);
      await shot(name);
    }
    const nav = await $('nav');
    const rect = await browser.execute((e) => e.getBoundingClientRect().toJSON(), nav);
    assert.ok(rect.top > 600, `the navigation sits at the bottom on a phone (top ${rect.top})`);
  });
});
