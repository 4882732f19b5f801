// The field app as a first secretary meets it: enrol against a real server, record an
// activity with Chinese text and a photo, quit, unlock with the PIN, find it by a
// two-character word, sync, and see records cross between the app and a second client (the
// CLI). Screenshots of every main screen are saved for people to look at.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, cli, bin, notificationsShown, ROOT } from '../harness.mjs';
import { DOWNLOADS, SCREENSHOTS } from '../wdio.conf.mjs';

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

/**
 * Click as a finger would: scrolled to the middle of the screen first (WebKitWebDriver
 * scrolls an element only to the edge, where a phone's fixed bottom bar covers it).
 */
async function tap(el) {
  await el.waitForDisplayed();
  await browser.execute((e) => e.scrollIntoView({ block: 'center' }), el);
  await el.click();
}

/** Pick a photo in the open form, as the file chooser would. */
async function addPhoto(bytes, name) {
  const before = (await $$('[data-testid="thumb"]')).length;
  await browser.execute(
    (b64, n) => {
      const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const file = new File([data], n, { type: 'image/png' });
      const dt = new DataTransfer();
      dt.items.add(file);
      const input = document.querySelector('[data-testid="photo-input"]');
      input.files = dt.files;
      input.dispatchEvent(new Event('change', { bubbles: true }));
    },
    bytes.toString('base64'),
    name,
  );
  await browser.waitUntil(async () => (await $$('[data-testid="thumb"]')).length > before, {
    timeoutMsg: `the photo ${name} did not show`,
  });
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

const TASK_FORM = '姓名,发展阶段,计划时间\n'.repeat(2000);
let taskFile;
let taskId;

describe('the field app', () => {
  before(async () => {
    server = await startServer({ maxBlob: 1024 * 1024 });
    office = cli(server, 'li-ming');
    // The village's roster and a task from the township, already on the server.
    for (const [name, gender] of [['王建国', 'male'], ['李秀英', 'female'], ['张伟', 'male']]) {
      office.put('member', { name, gender, stage: 'full', category: 'resident' });
    }
    office.sync();
    const township = cli(server, 'wang-qiang');
    const inAWeek = new Date(Date.now() + 7 * 86400e3).toISOString().slice(0, 10);
    // The task comes with the township's form to fill in.
    const form = join(township.dir, '发展计划表.csv');
    writeFileSync(form, TASK_FORM);
    const hash = township.run(['blob', 'add', form, '--mime', 'text/csv']).trim();
    taskFile = { hash, name: '发展计划表.csv', mime: 'text/csv', size: Buffer.byteLength(TASK_FORM) };
    taskId = township.put('task', {
      title: '报送第四季度党员发展计划',
      village: 'chengguan',
      issuer: '城关镇',
      assigned_villages: ['dongfeng'],
      deadline: inAWeek,
      attachments: [taskFile],
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
    await addPhoto(readFileSync(join(ROOT, 'src-tauri', 'icons', '128x128.png')), '活动照片.png');
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

  it("lists the township's file on its task and saves it to the Downloads folder", async () => {
    await go(`tasks/${taskId}`);
    const files = await byTest('files');
    await files.waitForDisplayed({ timeoutMsg: "the task's file did not show" });
    assert.match(await contentOf(files), /发展计划表\.csv/);
    await tap(await files.$('[data-testid="file-save"]'));
    const saved = await byTest('file-saved');
    await saved.waitForDisplayed({ timeout: 20000, timeoutMsg: 'the file was not saved' });
    const path = await saved.getAttribute('data-path');
    assert.equal(path, join(DOWNLOADS, '发展计划表.csv'), 'saved into the Downloads folder');
    assert.equal(readFileSync(path, 'utf8'), TASK_FORM, 'the saved file is the township\'s, byte for byte');
    await shot('13a-task-file-saved');
  });

  it('shows the party-life calendar on the home screen, from the records alone', async () => {
    await go('home');
    const cal = await byTest('party-life');
    await cal.waitForDisplayed();
    // The party lecture recorded above is this quarter's; no democratic appraisal this year.
    assert.equal(await (await cal.$('li[data-kind="party_lecture"]')).getAttribute('data-due'), 'false');
    assert.equal(await (await cal.$('li[data-kind="democratic_appraisal"]')).getAttribute('data-due'), 'true');
    assert.equal((await cal.$$('li')).length, 7);
    assert.match(await contentOf(cal), /民主评议党员/);
    await shot('08b-party-life');
  });

  it("shows a member's next step by the Party's rules, and names the rule a move breaks", async () => {
    const day = (offset) => new Date(Date.now() + offset * 86400e3).toISOString().slice(0, 10);
    // Applied 25 days ago: the branch's talk is due within the week.
    const id = office.put('member', { name: '赵申请', stage: 'applicant', applied_on: day(-25) });
    office.sync();
    // Synced in: the roster lists the applicant (a sync may still be starting when asked).
    await browser.waitUntil(
      async () => {
        await go('home');
        await (await byTest('sync-now')).click();
        await waitSynced();
        await go('members');
        return (await contentOf(await $('main'))).includes('赵申请');
      },
      { timeout: 60000, interval: 2000, timeoutMsg: 'the applicant did not reach the app' },
    );
    await go(`members/${id}`);
    const next = await byTest('next-step');
    await next.waitForDisplayed();
    assert.match(await contentOf(next), /入党积极分子/);
    assert.match(await contentOf(next), /\d{4}-\d{2}-\d{2}/);
    assert.equal(await (await next.$('[data-testid="next-missing"]')).getAttribute('data-rule'), 'talk');
    await shot('11b-member-next-step');
    // Made an activist with no talk recorded: refused, the rule in the user's words.
    await browser.execute(() => {
      const stage = document.querySelector('select[name="stage"]');
      stage.value = 'activist';
      stage.dispatchEvent(new Event('change', { bubbles: true }));
      const on = document.querySelector('input[name="activist_on"]');
      on.value = new Date().toISOString().slice(0, 10);
      on.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await tap(await byTest('save'));
    const err = await textOf('form-error');
    assert.match(err, /谈话后才能确定为入党积极分子/);
    assert.equal(await (await $('select[name="stage"]')).getValue(), 'activist');
    await shot('11c-member-rule-refused');

    // The talk coming due is a reminder on the home screen and a desktop notification.
    await go('home');
    await browser.waitUntil(async () => (await textOf('reminders')).includes('赵申请'), {
      timeoutMsg: 'no reminder of the talk on the home screen',
    });
    assert.match(await textOf('reminders'), /与申请人 赵申请 谈话/);
    if (notificationsShown() !== null) {
      await browser.waitUntil(async () => notificationsShown().includes('赵申请'), {
        timeout: 15000,
        timeoutMsg: `no desktop notification of the reminder: ${notificationsShown()}`,
      });
    }
  });

  it('keeps the words of a report edit the server refused, as a note on the accepted report', async () => {
    const month = new Date().toISOString().slice(0, 7);
    const before = '本月开展党课两次。';
    const words = '本月开展党课两次，另组织党员志愿服务一次，帮扶困难户三户。';
    // The secretary's other device (the CLI) starts this month's report; the app gets it.
    const report = office.put('report', { month, narrative: before });
    office.sync();
    await go('home');
    await tap(await byTest('sync-now'));
    await waitSynced();
    // The other device submits it; the township returns it with a comment, which the app
    // shows after its next sync.
    office.put('report', { id: report, state: 'submitted' });
    office.sync();
    const township = cli(server, 'wang-qiang');
    township.sync();
    const comment = '请补充本月志愿服务情况';
    township.put('report', { id: report, state: 'returned', review_comment: comment });
    township.sync();
    await tap(await byTest('sync-now'));
    await waitSynced();
    await go(`report/${month}`);
    const returned = await byTest('report-review-comment');
    await returned.waitForDisplayed({ timeout: 20000, timeoutMsg: "the township's comment did not show" });
    assert.match(await contentOf(returned), new RegExp(comment));
    assert.equal(await (await byTest('report-state')).getAttribute('data-state'), 'returned');
    await shot('14b-report-returned');
    // The other device resubmits and the township accepts, while the app, not synced since,
    // goes on writing the draft it holds.
    office.sync();
    office.put('report', { id: report, state: 'submitted' });
    office.sync();
    township.sync();
    township.put('report', { id: report, state: 'accepted' });
    township.sync();
    await go('home');
    await go(`report/${month}`);
    const text = await byTest('report-narrative');
    await browser.waitUntil(async () => (await text.getValue()) === before, {
      timeoutMsg: 'the app does not show the draft it synced',
    });
    await fill(text, words);
    await tap(await byTest('report-save'));

    // The save syncs; the server refuses the edit (the report is accepted) and the report
    // says so, with the words still on the screen.
    const banner = await byTest('report-refused');
    await banner.waitForDisplayed({ timeout: 30000, timeoutMsg: 'the report did not show the refusal' });
    assert.equal(await banner.getAttribute('data-code'), 'forbidden');
    assert.match(await contentOf(banner), /服务器未接受您对这份月报的修改：您的岗位不能做这项修改，或记录已被乡镇处理/);
    await browser.waitUntil(async () => (await (await byTest('report-state')).getAttribute('data-state')) === 'accepted', {
      timeoutMsg: 'the report did not show the township accepted it',
    });
    assert.equal(await (await byTest('report-narrative')).getValue(), words, 'the refused words left the screen');
    township.sync();
    assert.equal(township.get(report).record.narrative, before, 'the refused words reached the township');
    // The sync card names the record and offers the same action.
    await go('home');
    const item = await byTest('sync-refused-item');
    await item.waitForDisplayed({ timeout: 20000, timeoutMsg: 'the sync card did not name the refused report' });
    assert.equal(await item.getAttribute('data-id'), report);
    assert.equal(await item.getAttribute('data-code'), 'forbidden');
    assert.match(await contentOf(await byTest('sync-refused')), /1 条记录的修改未被服务器接受/);
    await shot('09a-sync-refused');

    // One action keeps them: the accepted report as the township left it, the words a note
    // on it, and that reaches the township at the next sync.
    await tap(await item.$('a'));
    await tap(await byTest('report-keep-words'));
    const note = await byTest('report-addendum');
    await note.waitForDisplayed({ timeoutMsg: 'the kept words did not show as a note' });
    assert.match(await contentOf(note), new RegExp(words));
    assert.match(await contentOf(note), /李明/, 'the note names its writer, not a person id');
    assert.equal(await (await byTest('report-narrative')).getValue(), before);
    assert.equal(await (await byTest('report-refused')).isExisting(), false, 'the refusal still shows');
    await shot('14a-report-words-kept');
    await go('home');
    await tap(await byTest('sync-now'));
    await waitSynced();
    assert.equal(await (await byTest('sync-refused')).isExisting(), false, 'the sync card still lists the report');
    township.sync();
    const kept = township.get(report).record;
    assert.equal(kept.state, 'accepted');
    assert.equal(kept.narrative, before);
    assert.equal(kept.addenda[0].text, words);
    assert.equal(kept.addenda[0].by, 'li-ming');
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
      if (screen === 'activities/new') {
        // The form's save bar stays above the bottom navigation while the form scrolls.
        const save = await byTest('save');
        await save.waitForDisplayed();
        const hit = await browser.execute((e) => {
          const r = e.getBoundingClientRect();
          const at = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
          return { onTop: e === at || e.contains(at), top: r.top, bottom: r.bottom, screen: innerHeight };
        }, save);
        assert.ok(hit.onTop, `the save button is covered on a phone: ${JSON.stringify(hit)}`);
      }
      await shot(name);
    }
    const nav = await $('nav');
    const rect = await browser.execute((e) => e.getBoundingClientRect().toJSON(), nav);
    assert.ok(rect.top > 600, `the navigation sits at the bottom on a phone (top ${rect.top})`);
  });

  it('says which record waits when the server refuses its photo, and syncs the others', async () => {
    // The server takes attachments up to 1 MiB (startServer); this photo is 1.5 MiB (a PNG
    // with padding after its end, which viewers ignore).
    const icon = readFileSync(join(ROOT, 'src-tauri', 'icons', '128x128.png'));
    const big = Buffer.concat([icon, Buffer.alloc(1536 * 1024)]);
    for (const [topic, photo] of [
      ['村民代表大会现场', big],
      ['冬季安全生产学习', null],
    ]) {
      await go('activities/new');
      const form = await byTest('form-activity');
      await form.waitForDisplayed();
      await fill(await form.$('input[name="topic"]'), topic);
      await fill(await form.$('input[name="lecturer"]'), '王书记');
      if (photo) await addPhoto(photo, '大会合影.png');
      await tap(await byTest('save'));
      await (await byTest('list-total')).waitForDisplayed();
    }
    await go('home');
    await tap(await byTest('sync-now'));
    const held = await byTest('sync-held');
    await held.waitForDisplayed({ timeout: 30000, timeoutMsg: 'the sync card did not name the held record' });
    const said = await contentOf(held);
    assert.match(said, /1 条记录暂未上传/);
    assert.match(said, /「村民代表大会现场」的附件「大会合影\.png」：附件超过服务器允许的大小/);
    assert.equal(await (await byTest('sync-held-item')).getAttribute('data-code'), 'too_large');
    const card = await byTest('sync-card');
    await browser.waitUntil(async () => (await card.getAttribute('data-state')) === 'idle', {
      timeoutMsg: 'the sync did not finish',
    });
    assert.equal(await card.getAttribute('data-pending'), '1', 'only the record with the refused photo waits');
    const overflow = await browser.execute(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.ok(overflow <= 1, `the sync card scrolls sideways by ${overflow}px at 360px`);
    await shot('21-phone-sync-held');
    // The other record went on; the held one is still only on the device.
    office.sync();
    const titles = office.search('学习').map((h) => h.title);
    assert.ok(titles.includes('冬季安全生产学习'), `the CLI did not get the photo-less record: ${titles}`);
    assert.equal(office.search('村民代表').length, 0, 'the record with the refused photo reached the server');
    // The held line opens the record.
    await tap(await $('[data-testid="sync-held-item"] a'));
    const form = await byTest('form-activity');
    await form.waitForDisplayed();
    assert.equal(await (await form.$('input[name="topic"]')).getValue(), '村民代表大会现场');
  });
});
