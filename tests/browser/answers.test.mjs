// Answers and follow-up by codename, end to end, in Debian's chromium, as a person and the staff
// use them (docs/answers.md, "The person's side"): a complaint with an attachment sent from the
// form, its codename noted from the receipt; keytool decrypt, keytool reply with an answer in the
// person's language and an attachment; dropbox replies import; the answers page opened with the
// codename (typed in the digits of the page's own script), the answer read and its attachment
// saved; more written with an attachment; keytool decrypt files it in the same case, byte for
// byte; the answer deleted; a wrong codename looks like an empty mailbox. In German and Arabic,
// with JavaScript and without.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { repo, artifacts, launch, stage, fillForm, axeViolations } from './lib.mjs';
import { parseCodename, newCodename, group, deriveKeys } from '../../themes/safe/assets/js/codename.js';

let tmp, bin, browser, staff, box, close;
const ORGS = ['kok', 'mk-act', 'kinderrechtencoalitie'];

// One drop box for every test here, with a staff key for each organisation (it refuses to start
// with an organisation that has none) and an answers folder of its own.
before(async () => {
  ({ tmp, bin, staff, box, close } = await stage('answers', ORGS, { answers: true }));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  close?.();
});

// What a page in a language says for a key of its strings (a plain key, not a plural table).
const strings = {};
const says = (lang, key) => {
  strings[lang] ??= fs.readFileSync(path.join(repo, `themes/safe/i18n/${lang}.toml`), 'utf8');
  return JSON.parse(strings[lang].match(new RegExp(`^${key} = (".*")$`, 'm'))[1]);
};
const deSays = (key) => says('de', key);

// asciiDigits writes every decimal digit of any script as its ASCII digit, and drops the rest:
// how a codename could hide in a request in another script's digits.
const asciiDigits = (text) => [...text].map((ch) => {
  if (!/\p{Nd}/u.test(ch)) return '';
  let start = ch.codePointAt(0);
  while (/\p{Nd}/u.test(String.fromCodePoint(start - 1))) start--;
  return String((ch.codePointAt(0) - start) % 10);
}).join('');

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const keytool = (...args) => execFileSync(path.join(bin, 'keytool'), args, { stdio: 'pipe' }).toString();

// inScript writes ASCII digits in the digits of a script: how a person on an Arabic keyboard
// types the codename.
const inScript = (s, zero) => s.replace(/[0-9]/g, (d) => String.fromCodePoint(zero + Number(d)));
const ARABIC_INDIC_ZERO = 0x0660;

const scenarios = [
  {
    lang: 'de', procedure: 'kok-complaints', org: 'kok',
    answer: 'Guten Tag,\nwir haben Ihre Beschwerde gelesen. <b>Kein HTML</b> & "Anführung".\nMit freundlichen Grüßen',
    more: 'Noch etwas: am Dienstag war es wieder so.\nZweite Zeile – ü ß',
    typed: (c) => group(c).replace(/ /g, '-'),
  },
  {
    lang: 'ar', procedure: 'mk-act-complaints', org: 'mk-act',
    answer: 'مرحبًا،\nلقد قرأنا شكواك. <i>لا HTML</i>\nمع التحية',
    more: 'أريد أن أضيف شيئًا: حدث ذلك مرة أخرى يوم الثلاثاء.\nسطر ثانٍ',
    typed: (c) => inScript(group(c), ARABIC_INDIC_ZERO),
  },
];

// open types the codename on the answers page and waits until the answers (or "none") are shown.
async function open(page, url, typed, javaScriptEnabled) {
  await page.goto(url);
  await page.fill('#codename', typed);
  if (javaScriptEnabled) {
    await page.click('#answers-open [type=submit]');
    await page.waitForFunction(() => !document.getElementById('answers-list').hidden, null, { timeout: 30_000 });
  } else {
    await Promise.all([page.waitForNavigation(), page.click('#answers-open [type=submit]')]);
  }
}

// withScript opens the HTML a page shows now in a new page, on the same origin, where a test's
// script can run (axe cannot run where JavaScript is off).
async function withScript(page) {
  const copy = await browser.newPage({ javaScriptEnabled: true });
  await copy.goto(new URL('/', page.url()).href);
  await copy.setContent(await page.content(), { waitUntil: 'load' });
  return copy;
}

// mainText is what the page says, without the codename where the page carries it.
const mainText = async (page) => (await page.innerText('main')).replace(/\s+/g, ' ').trim();

for (const s of scenarios) {
  for (const javaScriptEnabled of [true, false]) {
    const label = `${s.lang} ${javaScriptEnabled ? 'with' : 'without'} JavaScript`;
    test(`answers by codename, ${label}: complaint, answer, follow-up in the same case, deletion`, async () => {
      const key = staff[s.org];
      const context = await browser.newContext({ javaScriptEnabled, acceptDownloads: true, viewport: { width: 390, height: 844 } });
      const page = await context.newPage();
      const requests = [];
      page.on('request', (r) => requests.push({ url: r.url(), method: r.method(), type: r.headers()['content-type'], body: r.postDataBuffer() }));
      try {
        // 1. The complaint, with an attachment; the codename on the receipt.
        const formURL = `${box.origin}/${s.lang}/forms/${s.procedure}/`;
        const def = await (await fetch(`${formURL}form.json`)).json();
        await page.goto(formURL);
        const evidence = { name: `Beleg ${s.lang}.bin`, mimeType: 'application/octet-stream', buffer: crypto.randomBytes(300 << 10) };
        await fillForm(page, def, evidence);
        await page.click('form.complaint button[type=submit]');
        await page.waitForSelector(javaScriptEnabled ? '#receipt:not([hidden]) #codename' : '#codename', { timeout: 60_000 });
        const id = (await page.textContent('#receipt-id')).trim();
        const shown = (await page.textContent('#codename')).trim();
        assert.match(shown, /^(\d{5} ){5}\d$/, `${label}: the codename on the receipt: ${shown}`);
        const codename = parseCodename(shown).digits;
        assert.ok(codename, `${label}: the codename's check digit`);
        await page.screenshot({ path: path.join(artifacts, `answers-${s.lang}-${javaScriptEnabled ? 'js' : 'nojs'}-receipt.png`), fullPage: true });
        const answersLink = await page.getAttribute(`a[href$="/${s.lang}/answers/${s.org}/"]`, 'href');
        assert.ok(answersLink, `${label}: the receipt links to the answers page`);

        // 2. The staff: decrypt, answer in the person's language with an attachment, import.
        const cases = path.join(tmp, `cases-${s.lang}-${javaScriptEnabled}`);
        keytool('decrypt', '--key', key.key, '--passphrase-file', key.pass, '--in', box.spool(s.org), '--out', cases);
        assert.ok(fs.existsSync(path.join(cases, id, 'followup.json')), `${label}: the complaint carries where answers go`);
        const textFile = path.join(tmp, `answer-${s.lang}-${javaScriptEnabled}.txt`);
        fs.writeFileSync(textFile, s.answer);
        const decision = path.join(tmp, `Entscheidung ${s.lang}.pdf`);
        fs.writeFileSync(decision, crypto.randomBytes(20 << 10));
        const outbox = path.join(tmp, `outbox-${s.lang}-${javaScriptEnabled}`);
        keytool('reply', '--cases', cases, '--case', id, '--out', outbox, '--text', textFile, '--attach', decision);
        execFileSync(path.join(bin, 'dropbox'), ['replies', 'import', '--config', box.config, '--environment', 'production', outbox], { stdio: 'pipe' });

        // 3. The person reads it, with the codename typed as they would.
        const answersURL = `${box.origin}/${s.lang}/answers/${s.org}/`;
        assert.equal(new URL(answersLink, box.origin).href, answersURL);
        await page.goto(answersURL);
        const how = javaScriptEnabled ? '.how-js' : '.how-nojs';
        assert.ok(await page.isVisible(how), `${label}: the page says beforehand how the codename is used (${how})`);
        if (javaScriptEnabled) assert.deepEqual(await axeViolations(page), [], `${label}: axe on the answers page`);
        await open(page, answersURL, s.typed(codename), javaScriptEnabled);
        const answers = page.locator('article.answer');
        assert.equal(await answers.count(), 1, `${label}: one answer`);
        const read = await answers.first().innerText();
        for (const line of s.answer.split('\n')) assert.ok(read.includes(line), `${label}: the answer's line "${line}" is not shown as written:\n${read}`);
        assert.equal(await page.locator('article.answer b, article.answer i').count(), 0, `${label}: the answer's text became markup`);
        // Without JavaScript this is result.html as the drop box filled it in: axe needs a script,
        // so it runs on the same HTML in a page that may run one (no script of the site runs there).
        assert.deepEqual(await axeViolations(javaScriptEnabled ? page : await withScript(page)), [], `${label}: axe on the answers shown`);
        await page.screenshot({ path: path.join(artifacts, `answers-${s.lang}-${javaScriptEnabled ? 'js' : 'nojs'}-read.png`), fullPage: true });

        const saving = page.waitForEvent('download');
        await answers.first().locator(javaScriptEnabled ? 'a[download]' : 'form[action$="/file"] [type=submit]').first().click();
        const download = await saving;
        assert.equal(sha256(fs.readFileSync(await download.path())), sha256(fs.readFileSync(decision)), `${label}: the answer's attachment, byte for byte`);
        assert.equal(download.suggestedFilename(), path.basename(decision), `${label}: the attachment's name`);

        // 4. More, with an attachment, from the same page.
        const more = page.locator(javaScriptEnabled ? '#answers-more' : 'form[action$="/more"]');
        assert.ok(await more.isVisible(), `${label}: the write-more form`);
        await more.locator('textarea[name=more]').fill(s.more);
        const addendum = { name: `Nachtrag ${s.lang}.bin`, mimeType: 'application/octet-stream', buffer: crypto.randomBytes(200 << 10) };
        await more.locator('input[type=file]').setInputFiles(addendum);
        let sent;
        if (javaScriptEnabled) {
          await more.locator('[type=submit]').click();
          await page.waitForFunction(() => /[0-9a-f]{32}/.test(document.getElementById('answers-more-status').textContent), null, { timeout: 60_000 });
          sent = (await page.textContent('#answers-more-status')).match(/[0-9a-f]{32}/)[0];
          // A follow-up is a submission like any other: the same route, the same kind of body.
          const posts = requests.filter((r) => r.method === 'POST' && r.url.endsWith(`/api/v1/orgs/${s.org}/submissions`));
          assert.equal(posts.length, 2, `${label}: the complaint and the follow-up both went to the submissions route`);
          assert.deepEqual(posts.map((r) => r.type), ['application/octet-stream', 'application/octet-stream']);
        } else {
          await Promise.all([page.waitForNavigation(), more.locator('[type=submit]').click()]);
          sent = (await mainText(page)).match(/[0-9a-f]{32}/)?.[0];
        }
        assert.ok(sent && sent !== id, `${label}: the follow-up's receipt number`);
        keytool('decrypt', '--key', key.key, '--passphrase-file', key.pass, '--in', box.spool(s.org), '--out', cases);
        const filed = fs.readdirSync(path.join(cases, id, 'followups')).filter((d) => d.endsWith(`-${sent}`));
        assert.equal(filed.length, 1, `${label}: the follow-up is filed in the complaint's case`);
        const followup = JSON.parse(fs.readFileSync(path.join(cases, id, 'followups', filed[0], 'submission.json'), 'utf8'));
        assert.equal(followup.procedure, 'follow-up');
        assert.equal(followup.lang, s.lang);
        assert.equal(followup.encrypted_by, javaScriptEnabled ? 'browser' : 'server', `${label}: where the follow-up was encrypted`);
        assert.deepEqual(followup.fields.map((f) => [f.name, f.value]), [['more', s.more]], `${label}: the follow-up's text`);
        assert.equal(followup.attachments.length, 1);
        const attached = fs.readdirSync(path.join(cases, id, 'followups', filed[0], 'attachments'));
        assert.equal(sha256(fs.readFileSync(path.join(cases, id, 'followups', filed[0], 'attachments', attached[0]))), sha256(addendum.buffer), `${label}: the follow-up's attachment, byte for byte`);
        assert.ok(!fs.existsSync(path.join(cases, sent)), `${label}: the follow-up is also a case of its own`);

        // 5. The person deletes the answer; then the page is what a wrong codename shows.
        await open(page, answersURL, s.typed(codename), javaScriptEnabled);
        if (javaScriptEnabled) {
          await page.click('article.answer button.delete');
          await page.waitForFunction(() => document.querySelectorAll('article.answer').length === 0, null, { timeout: 30_000 });
        } else {
          await Promise.all([page.waitForNavigation(), page.click('article.answer form[action$="/delete"] [type=submit]')]);
          assert.equal(await page.locator('article.answer').count(), 0, `${label}: deleted`);
        }
        assert.ok((await mainText(page)).includes(says(s.lang, 'answers_deleted')), `${label}: the page says the answer was deleted`);
        await open(page, answersURL, s.typed(codename), javaScriptEnabled);
        const empty = await mainText(page);
        const wrong = newCodename();
        await open(page, answersURL, s.typed(wrong), javaScriptEnabled);
        const stranger = await mainText(page);
        assert.ok(empty.includes(says(s.lang, 'answers_none')), `${label}: the empty mailbox says there are no answers yet: ${empty}`);
        assert.equal(stranger, empty, `${label}: a wrong codename shows what an empty mailbox shows`);
        assert.equal(await page.locator('article.answer').count(), 0);

        // Nothing kept in the browser; the codename in no URL, and with JavaScript in no request.
        assert.deepEqual(await context.cookies(), [], `${label}: cookies`);
        if (javaScriptEnabled) {
          const stored = await page.evaluate(async () => [localStorage.length, sessionStorage.length, (await indexedDB.databases()).length]);
          assert.deepEqual(stored, [0, 0, 0], `${label}: web storage`);
        }
        for (const r of requests) {
          assert.ok(r.url.startsWith(box.origin), `${label}: a request to another host: ${r.url}`);
          for (const c of [codename, wrong]) {
            assert.ok(!asciiDigits(decodeURIComponent(r.url)).includes(c), `${label}: a codename in the URL ${r.url}`);
            if (javaScriptEnabled && r.body) {
              const body = r.body.toString('utf8');
              assert.ok(!asciiDigits(body).includes(c) && !asciiDigits(decodeURIComponent(body.replace(/\+/g, ' '))).includes(c), `${label}: the codename was sent to ${r.url}`);
            }
          }
        }
      } finally {
        await context.close();
      }
    });
  }
}

test('a mistyped codename is caught on the page, before anything is asked of the server', async () => {
  for (const javaScriptEnabled of [true, false]) {
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    const asked = [];
    page.on('request', (r) => { if (r.method() === 'POST') asked.push(r.url()); });
    // Two neighbouring digits that differ, swapped: the check digit catches every such swap.
    const good = newCodename();
    const at = [...good].findIndex((d, i) => i + 1 < good.length && d !== good[i + 1]);
    const swapped = good.slice(0, at) + good[at + 1] + good[at] + good.slice(at + 2);
    assert.equal(parseCodename(swapped).error, 'check');
    await page.goto(`${box.origin}/de/answers/kok/`);
    await page.fill('#codename', group(swapped));
    if (javaScriptEnabled) {
      await page.click('#answers-open [type=submit]');
      await page.waitForFunction(() => document.getElementById('answers-status').textContent.trim() !== '', null, { timeout: 10_000 });
      assert.deepEqual(asked, [], 'with JavaScript, a typo is caught before any request');
    } else {
      await Promise.all([page.waitForNavigation(), page.click('#answers-open [type=submit]')]);
    }
    const said = await mainText(page);
    assert.equal(await page.locator('article.answer').count(), 0);
    assert.ok(await page.isVisible('#codename'), 'the codename can be typed again');
    assert.ok(said.includes(deSays('answers_error_check')), `the page says what is wrong: ${said}`);
    await context.close();
  }
});

test('every answers page with everything it loads is at most 70 KiB brotli-compressed', async () => {
  const LANGS = ['de', 'en', 'nl', 'sv', 'zh', 'ar', 'fr', 'es', 'ro', 'bg', 'ru', 'uk'];
  const rows = [];
  const compressed = new Map(); // url → brotli size: the shared script and style are compressed once
  for (const lang of LANGS) {
    for (const org of ORGS) {
      const page = await browser.newPage();
      const responses = [];
      page.on('response', (r) => responses.push(r));
      await page.goto(`${box.origin}/${lang}/answers/${org}/`, { waitUntil: 'networkidle' });
      let total = 0;
      const parts = [];
      for (const r of responses) {
        if (!compressed.has(r.url())) compressed.set(r.url(), zlib.brotliCompressSync(await r.body(), { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length);
        const size = compressed.get(r.url());
        total += size;
        parts.push(`${path.basename(new URL(r.url()).pathname) || 'page'} ${size}`);
      }
      assert.ok(responses.some((r) => r.url().includes('/js/answers.')), `/${lang}/answers/${org}/: the script was loaded`);
      rows.push({ page: `/${lang}/answers/${org}/`, total, parts: parts.join(', ') });
      await page.close();
    }
  }
  rows.sort((a, b) => b.total - a.total);
  console.log(`# answers pages: heaviest ${rows[0].page} ${rows[0].total} B (${rows[0].parts}); lightest ${rows.at(-1).page} ${rows.at(-1).total} B`);
  for (const r of rows) assert.ok(r.total <= 70 * 1024, `${r.page} loads ${r.total} B brotli, over 70 KiB`);
});

test('a complaint stored but whose answer was lost, sent again, gives the codename inside both copies', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const url = `${box.origin}/en/forms/kok-complaints/`;
  const def = await (await fetch(`${url}form.json`)).json();
  await page.goto(url);
  await fillForm(page, def, { name: 'a.bin', mimeType: 'application/octet-stream', buffer: crypto.randomBytes(1000) });
  const bodies = [];
  // The first try reaches the drop box and is stored, but its answer never reaches the page.
  await page.route('**/api/v1/orgs/kok/submissions', async (route) => {
    bodies.push(route.request().postDataBuffer());
    await route.fetch();
    await route.abort('connectionreset');
  });
  const before = new Set(fs.existsSync(box.spool('kok')) ? fs.readdirSync(box.spool('kok')) : []);
  await page.click('form.complaint button[type=submit]');
  await page.waitForSelector('#form-retry:not([hidden])', { timeout: 60_000 });
  // Busy once, then through: the retry and the try after it send the very same bytes.
  await page.unroute('**/api/v1/orgs/kok/submissions');
  await page.route('**/api/v1/orgs/kok/submissions', async (route) => {
    bodies.push(route.request().postDataBuffer());
    if (bodies.length === 2) await route.fulfill({ status: 503, body: '{}' });
    else await route.continue();
  });
  await page.click('#form-retry');
  await page.waitForFunction(() => document.getElementById('form-status').dataset.state === 'error', null, { timeout: 30_000 });
  await page.click('form.complaint button[type=submit]');
  await page.waitForSelector('#receipt:not([hidden])', { timeout: 60_000 });
  const shown = parseCodename(await page.textContent('#codename')).digits;
  assert.equal(bodies.length, 3);
  assert.ok(bodies[1].equals(bodies[0]) && bodies[2].equals(bodies[0]), 'every try sent the same ciphertext');
  const cases = path.join(tmp, 'cases-retry');
  keytool('decrypt', '--key', staff.kok.key, '--passphrase-file', staff.kok.pass, '--in', box.spool('kok'), '--out', cases);
  const stored = fs.readdirSync(box.spool('kok')).filter((f) => f.endsWith('.pgp') && !before.has(f));
  assert.equal(stored.length, 2, 'the lost first try and the retry are both stored');
  const keys = await deriveKeys(shown, 'kok');
  for (const f of stored) {
    const id = f.replace(/\.pgp$/, '');
    const folder = fs.existsSync(path.join(cases, id)) ? path.join(cases, id) : null;
    assert.ok(folder, `case ${id}`);
    const followup = JSON.parse(fs.readFileSync(path.join(folder, 'followup.json'), 'utf8'));
    assert.equal(followup.case, keys.case, `${id} carries the codename on the receipt`);
  }
  await context.close();
});

test('a follow-up takes 25 MiB of files, with and without JavaScript; one byte more is refused and nothing is sent', async () => {
  const MiB = 1 << 20;
  const cases = path.join(tmp, 'cases-limit');
  for (const javaScriptEnabled of [true, false]) {
    const label = javaScriptEnabled ? 'with JavaScript' : 'without JavaScript';
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    const codename = newCodename();
    await open(page, `${box.origin}/en/answers/kok/`, group(codename), javaScriptEnabled);
    const more = page.locator(javaScriptEnabled ? '#answers-more' : 'form[action$="/more"]');
    const limit = 25 * MiB;
    if (javaScriptEnabled) {
      assert.equal(Number(await page.getAttribute('#answers-open', 'data-max-bytes')), limit, 'the page\'s limit');
      // One byte over: refused on the device, nothing posted.
      const posted = [];
      page.on('request', (r) => { if (r.method() === 'POST') posted.push(r.url()); });
      await more.locator('input[type=file]').setInputFiles({ name: 'over.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(limit + 1) });
      await more.locator('textarea[name=more]').fill('too much');
      await more.locator('[type=submit]').click();
      await page.waitForFunction(() => document.getElementById('answers-more-status').dataset.state === 'error', null, { timeout: 30_000 });
      assert.deepEqual(posted, [], `${label}: a follow-up over the limit was sent`);
    }
    const exact = crypto.randomBytes(limit);
    await more.locator('input[type=file]').setInputFiles({ name: 'exact.bin', mimeType: 'application/octet-stream', buffer: exact });
    await more.locator('textarea[name=more]').fill(`at the limit ${label}`);
    let sent;
    if (javaScriptEnabled) {
      await more.locator('[type=submit]').click();
      await page.waitForFunction(() => /[0-9a-f]{32}/.test(document.getElementById('answers-more-status').textContent), null, { timeout: 120_000 });
      sent = (await page.textContent('#answers-more-status')).match(/[0-9a-f]{32}/)[0];
    } else {
      await Promise.all([page.waitForNavigation({ timeout: 120_000 }), more.locator('[type=submit]').click()]);
      sent = (await mainText(page)).match(/[0-9a-f]{32}/)?.[0];
    }
    assert.ok(sent, `${label}: the follow-up of exactly 25 MiB was taken`);
    // Padded inside the encryption, as a form is (docs/format.md, "Padding of submissions"):
    // 25 MiB of files and a line of text are 26 MiB.
    const stored = fs.statSync(path.join(box.spool('kok'), `${sent}.pgp`)).size;
    assert.ok(stored >= 26 * MiB && stored < 26 * MiB + 16384, `${label}: ${stored} bytes stored, not the 26 MiB the padding makes`);
    keytool('decrypt', '--key', staff.kok.key, '--passphrase-file', staff.kok.pass, '--in', box.spool('kok'), '--out', cases);
    // Its first complaint is not here: keytool keeps it in a folder of its own, marked.
    const folder = path.join(cases, sent);
    const attached = fs.readdirSync(path.join(folder, 'attachments'));
    assert.equal(sha256(fs.readFileSync(path.join(folder, 'attachments', attached[0]))), sha256(exact), `${label}: 25 MiB, byte for byte`);
    await context.close();
  }
});
