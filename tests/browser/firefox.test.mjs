// Tor Browser's engine: Debian's firefox-esr at Tor Browser's "Safer" level (no JIT, no
// WebAssembly) and "Safest" level (no JavaScript), driven by puppeteer-core over WebDriver BiDi
// (lib.mjs, launchFirefox), against the real drop box and keytool. Forms in German and Arabic with
// a 10 MiB attachment, encrypted in the browser at Safer and on arrival at Safest, decrypted by
// keytool and compared field by field and byte by byte; an answer by codename read on the answers
// page at both levels; the quick exit doing at each level what its help says; axe on a form and
// its receipt at Safer. One browser per level and one drop box for the whole file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { artifacts, stage, fillForm, axeViolations, watch, launchFirefox, press, shown, firefoxForm } from './lib.mjs';
import { parseCodename, group, deriveKeys, followupFirst } from '../../themes/safe/assets/js/codename.js';

const MiB = 1 << 20;
const ORGS = ['kok', 'mk-act', 'kinderrechtencoalitie'];
const EXIT = 'https://www.wikipedia.org/';
let tmp, bin, staff, box, safer, safest, close;

before(async () => {
  ({ tmp, bin, staff, box, close } = await stage('firefox', ORGS, { answers: true }));
  [safer, safest] = await Promise.all([launchFirefox({ level: 'safer' }), launchFirefox({ level: 'safest' })]);
});

after(async () => {
  await safer?.close();
  await safest?.close();
  close?.();
});

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const keytool = (...args) => execFileSync(path.join(bin, 'keytool'), args, { stdio: 'pipe' }).toString();
const text = (page, selector) => page.$eval(selector, (e) => e.innerText.trim());
const levelOf = (browser) => (browser === safer ? 'Safer' : 'Safest');

// newPage opens a page in a fresh context (no cookies or storage from another test) at a phone's
// size, with the problems watch finds on it: requests to another host than the drop box, console
// errors, script errors, and, where scripts run, CSP violations.
async function newPage(browser, { allow = [] } = {}) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width: 390, height: 844 });
  const problems = watch(page, box.origin, { allow });
  await page.evaluateOnNewDocument(() => document.addEventListener('securitypolicyviolation',
    (e) => console.error(`Content Security Policy: ${e.violatedDirective} ${e.blockedURI}`)));
  return { context, page, problems };
}

// send fills in a form in the browser, with the attachment, and sends it: encrypted by the page
// at Safer, posted for the drop box to encrypt at Safest. Returns the receipt's id and codename
// and the fields as the case folder must hold them.
async function send(browser, { lang, procedure }, attachment, { axe = false, shot = '' } = {}) {
  const js = browser === safer;
  const label = `${levelOf(browser)} ${lang}/${procedure}`;
  const { context, page, problems } = await newPage(browser);
  try {
    const url = `${box.origin}/${lang}/forms/${procedure}/`;
    const def = await (await fetch(`${url}form.json`)).json();
    await page.goto(url);
    if (js) {
      await page.waitForFunction(() => document.querySelector('form.complaint').classList.contains('encrypts-here'));
      // What Tor Browser's Safer level takes away, and what a page would see if the prefs were lost.
      assert.equal(await page.evaluate(() => typeof WebAssembly), 'undefined', `${label}: WebAssembly in the page`);
    }
    assert.equal(Number(await page.$eval('form', (f) => f.dataset.maxBytes)), 25 * MiB, `${label}: the form's limit`);
    // The page says beforehand which way it will go.
    assert.ok(await shown(page, js ? '.how-js' : '.how-nojs'), `${label}: the notice of how it is sent`);
    assert.ok(!(await shown(page, js ? '.how-nojs' : '.how-js')), `${label}: both notices are shown`);
    if (axe) assert.deepEqual(await axeViolations(page), [], `${label}: axe on the empty form`);
    const expected = await fillForm(firefoxForm(page, tmp), def, attachment);
    if (shot) await page.screenshot({ path: path.join(artifacts, `firefox-${shot}-form.png`), fullPage: true });
    if (js) {
      await press(page, 'form.complaint button[type=submit]');
      await page.waitForSelector('#receipt:not([hidden])', { timeout: 120_000 });
    } else {
      await Promise.all([page.waitForNavigation({ timeout: 120_000 }), press(page, 'form.complaint button[type=submit]')]);
    }
    const id = await text(page, '#receipt-id');
    assert.match(id, /^[0-9a-f]{32}$/, `${label}: receipt ${id}`);
    const shownCodename = await text(page, '#codename');
    const codename = parseCodename(shownCodename).digits;
    assert.ok(codename && /^(\d{5} ){5}\d$/.test(shownCodename), `${label}: the codename on the receipt: ${shownCodename}`);
    if (shot) await page.screenshot({ path: path.join(artifacts, `firefox-${shot}-receipt.png`), fullPage: true });
    if (axe) assert.deepEqual(await axeViolations(page), [], `${label}: axe on the receipt`);
    assert.deepEqual(await context.cookies(), [], `${label}: cookies`);
    assert.deepEqual(problems, [], `${label}: problems on the page`);
    return { id, codename, expected };
  } finally {
    await context.close();
  }
}

// openCase decrypts the organisation's spool folder with its staff key and returns the case's
// folder.
function openCase(org, id) {
  const cases = path.join(tmp, `cases-${org}`);
  keytool('decrypt', '--key', staff[org].key, '--passphrase-file', staff[org].pass, '--in', box.spool(org), '--out', cases);
  return path.join(cases, id);
}

const forms = [
  { lang: 'de', procedure: 'kok-complaints', org: 'kok' },
  { lang: 'ar', procedure: 'mk-act-complaints', org: 'mk-act' },
];

for (const level of ['Safer', 'Safest']) {
  const scenarios = level === 'Safer' ? forms : forms.slice(0, 1);
  const how = level === 'Safer' ? 'encrypted in the page' : 'sent without JavaScript';
  test(`${level}: ${scenarios.map((s) => `${s.lang}/${s.procedure}`).join(' and ')} with 10 MiB, ${how}, decrypt to what was typed and attached${level === 'Safer' ? '; axe finds nothing on the German form or its receipt' : ''}`, async () => {
    const browser = level === 'Safer' ? safer : safest;
    for (const s of scenarios) {
      const label = `${level} ${s.lang}/${s.procedure}`;
      const attachment = { name: `Beweis ${s.lang} ü.bin`, mimeType: 'application/octet-stream', buffer: crypto.randomBytes(10 * MiB) };
      const { id, codename, expected } = await send(browser, s, attachment, { axe: level === 'Safer' && s.lang === 'de', shot: `${level.toLowerCase()}-${s.lang}` });
      const folder = openCase(s.org, id);
      const got = JSON.parse(fs.readFileSync(path.join(folder, 'submission.json'), 'utf8'));
      assert.equal(got.procedure, s.procedure, label);
      assert.equal(got.lang, s.lang, label);
      assert.equal(got.encrypted_by, level === 'Safer' ? 'browser' : 'server', `${label}: where it was encrypted`);
      assert.deepEqual(got.fields, expected, `${label}: fields`);
      assert.equal(got.attachments.length, 1, `${label}: attachments`);
      assert.equal(got.attachments[0].name, attachment.name, `${label}: attachment name`);
      assert.equal(got.attachments[0].sha256, sha256(attachment.buffer), `${label}: attachment SHA-256`);
      const [file] = fs.readdirSync(path.join(folder, 'attachments'));
      assert.ok(fs.readFileSync(path.join(folder, 'attachments', file)).equals(attachment.buffer), `${label}: attachment bytes`);
      const followup = JSON.parse(fs.readFileSync(path.join(folder, 'followup.json'), 'utf8'));
      assert.deepEqual(followup, followupFirst(await deriveKeys(codename, s.org), s.org), `${label}: the receipt's codename inside`);
    }
  });
}

// inScript writes ASCII digits in the digits of a script: how a person on an Arabic keyboard
// types the codename.
const inScript = (s, zero) => s.replace(/[0-9]/g, (d) => String.fromCodePoint(zero + Number(d)));

const answered = [
  {
    level: 'Safer', lang: 'de', procedure: 'kok-complaints', org: 'kok',
    answer: 'Guten Tag,\nwir haben Ihre Beschwerde gelesen. <b>Kein HTML</b> & "Anführung".\nMit freundlichen Grüßen',
    typed: (c) => group(c).replace(/ /g, '-'),
  },
  {
    level: 'Safest', lang: 'ar', procedure: 'mk-act-complaints', org: 'mk-act',
    answer: 'مرحبًا،\nلقد قرأنا شكواك. <i>لا HTML</i>\nمع التحية',
    typed: (c) => inScript(group(c), 0x0660),
  },
];

for (const s of answered) {
  test(`${s.level}: answers by codename in ${s.lang}: complaint, keytool reply, dropbox replies import, the answer read on the answers page`, async () => {
    const browser = s.level === 'Safer' ? safer : safest;
    const js = browser === safer;
    const label = `${s.level} ${s.lang}`;
    const { id, codename } = await send(browser, s, { name: `Beleg ${s.lang}.bin`, mimeType: 'application/octet-stream', buffer: crypto.randomBytes(300 << 10) });

    // The staff: decrypt, answer in the person's language, import.
    const folder = openCase(s.org, id);
    const textFile = path.join(tmp, `answer-${s.lang}.txt`);
    fs.writeFileSync(textFile, s.answer);
    const outbox = path.join(tmp, `outbox-${s.lang}`);
    keytool('reply', '--cases', path.dirname(folder), '--case', id, '--out', outbox, '--text', textFile);
    execFileSync(path.join(bin, 'dropbox'), ['replies', 'import', '--config', box.config, '--environment', 'production', outbox], { stdio: 'pipe' });

    // The person: the answers page, the codename typed as they would.
    const { context, page, problems } = await newPage(browser);
    try {
      await page.goto(`${box.origin}/${s.lang}/answers/${s.org}/`);
      if (js) await page.waitForFunction(() => document.getElementById('answers-open').classList.contains('opens-here'));
      assert.ok(await shown(page, js ? '.how-js' : '.how-nojs'), `${label}: the page says beforehand how the codename is used`);
      await page.type('#codename', s.typed(codename));
      if (js) {
        await press(page, '#answers-open [type=submit]');
        await page.waitForFunction(() => !document.getElementById('answers-list').hidden, { timeout: 60_000 });
      } else {
        await Promise.all([page.waitForNavigation({ timeout: 60_000 }), press(page, '#answers-open [type=submit]')]);
      }
      // page.$$ waits on the page's event loop, which does not turn without JavaScript.
      const answers = await page.evaluate(() => [...document.querySelectorAll('article.answer')].map((a) => a.innerText));
      assert.equal(answers.length, 1, `${label}: one answer`);
      for (const line of s.answer.split('\n')) assert.ok(answers[0].includes(line), `${label}: the answer's line "${line}" is not shown as written:\n${answers[0]}`);
      assert.equal(await page.evaluate(() => document.querySelectorAll('article.answer b, article.answer i').length), 0, `${label}: the answer's text became markup`);
      await page.screenshot({ path: path.join(artifacts, `firefox-${s.level.toLowerCase()}-answers-${s.lang}.png`), fullPage: true });
      assert.deepEqual(await context.cookies(), [], `${label}: cookies`);
      assert.deepEqual(problems, [], `${label}: problems on the page`);
    } finally {
      await context.close();
    }
  });
}

// quickExitPage opens a page whose requests to the neutral site are answered by the test, so
// that nothing leaves the machine.
async function quickExitPage(browser) {
  const opened = await newPage(browser, { allow: [EXIT] });
  await opened.page.setRequestInterception(true);
  opened.page.on('request', (r) => {
    if (r.isInterceptResolutionHandled()) return;
    if (r.url().startsWith(EXIT)) r.respond({ status: 200, contentType: 'text/html', body: '<title>neutral</title>' });
    else r.continue();
  });
  return opened;
}

test('Safer: the quick exit is first in keyboard order, leaves by click and by Escape twice, and takes the page out of the history', async () => {
  const { context, page, problems } = await quickExitPage(safer);
  try {
    const from = `${box.origin}/de/`;
    const procedure = `${box.origin}/de/procedures/kok-complaints/`;
    for (const how of ['click', 'Escape twice']) {
      await page.goto(from);
      await page.goto(procedure);
      await page.waitForFunction(() => document.documentElement.classList.contains('js'));
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'quick-exit', 'first in keyboard order');
      assert.ok(await shown(page, '#quick-exit-help .when-js'), 'the help says the page leaves the back button');
      assert.ok(!(await shown(page, '#quick-exit-help .when-nojs')), 'the help says JavaScript is off');
      if (how === 'click') {
        await Promise.all([page.waitForNavigation(), press(page, '#quick-exit')]);
      } else {
        await page.keyboard.press('Escape');
        await Promise.all([page.waitForNavigation(), page.keyboard.press('Escape')]);
      }
      assert.equal(page.url(), EXIT, how);
      // location.replace: going back skips the page that was open.
      await page.goBack();
      assert.equal(page.url(), from, `${how}: back`);
    }
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('Safest: the page reads without JavaScript or SVG, and the quick exit is a plain link whose help says the page stays in the history', async () => {
  const { context, page, problems } = await quickExitPage(safest);
  try {
    const procedure = `${box.origin}/ar/procedures/mk-act-complaints/`;
    await page.goto(`${box.origin}/ar/`);
    await page.goto(procedure);
    assert.ok(await shown(page, 'h1'), 'the heading');
    assert.ok(await shown(page, '#send'), 'how to send a complaint');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'quick-exit', 'first in keyboard order');
    assert.ok(await shown(page, '#quick-exit-help .when-nojs'), 'the help without JavaScript');
    assert.ok(!(await shown(page, '#quick-exit-help .when-js')), 'the help promises what only the script does');
    await page.screenshot({ path: path.join(artifacts, 'firefox-safest-ar-procedure.png'), fullPage: true });
    await Promise.all([page.waitForNavigation(), press(page, '#quick-exit')]);
    assert.equal(page.url(), EXIT);
    // As the help says: without the script, the back button returns to the page.
    await page.goBack();
    assert.equal(page.url(), procedure);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('neither Firefox asked anything of a host other than the drop box', () => {
  assert.deepEqual(safer.offsite, [], 'Safer');
  assert.deepEqual(safest.offsite, [], 'Safest');
});
