// The limits on text answers, in Debian's chromium: every text field carries a maxlength that a
// browser without JavaScript enforces, and with JavaScript an answer over 256 KiB, or answers over
// the format's 1 MiB header together, are refused before anything is encrypted or sent, with a
// message that names the question. The site is built for a throwaway OpenPGP.js key, so that the
// form script runs; no drop box is needed, as nothing may be posted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKey } from 'openpgp';

const site = fs.mkdtempSync(path.join(os.tmpdir(), 'answer-limits-'));
process.env.SITE_PUBLIC = site; // lib.mjs serves this build, made in before()
const { repo, artifacts, startServer, launch, pagesOf } = await import('./lib.mjs');

const LANGS = ['de', 'en', 'nl', 'sv', 'zh', 'ar', 'fr', 'es', 'ro', 'bg', 'ru', 'uk'];
const MAX_ANSWER = 256 << 10; // the drop box's maxFieldBytes
const MAX_LENGTH = 65536; // UTF-16 code units, at most 3 bytes of UTF-8 each
let keyDir, server, origin, browser;

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  keyDir = fs.mkdtempSync(path.join(artifacts, 'keys-limits-')); // Hugo reads no file outside the repository
  // One key for each organisation of config.toml, given in a second configuration file.
  let keys = '';
  for (const org of ['kok', 'mk-act', 'kinderrechtencoalitie']) {
    const { publicKey } = await generateKey({ type: 'curve25519', userIDs: [{ name: `limits ${org}` }], format: 'armored', config: { v6Keys: true } });
    fs.writeFileSync(path.join(keyDir, `${org}.pub.asc`), publicKey);
    keys += `[params.organisations.${org}]\nkeys = ${JSON.stringify([path.relative(repo, path.join(keyDir, `${org}.pub.asc`))])}\n`;
  }
  fs.writeFileSync(path.join(keyDir, 'organisations.toml'), keys);
  execFileSync('go', ['tool', 'hugo', '--source', repo, '--config', `config.toml,${path.join(keyDir, 'organisations.toml')}`, '--destination', site, '--minify', '--quiet', '--panicOnWarning'], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HUGO_ENVIRONMENT: 'production' },
  });
  ({ server, origin } = await startServer());
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.close();
  fs.rmSync(keyDir, { recursive: true, force: true });
  fs.rmSync(site, { recursive: true, force: true });
});

test('every text answer of every form has a maxlength within the drop box limit', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const forms = LANGS.flatMap((lang) => pagesOf(lang).filter((p) => /\/forms\/[^/]+\/$/.test(p)));
  assert.equal(forms.length, 3 * LANGS.length, `form pages: ${forms.join(' ')}`);
  let checked = 0;
  for (const url of forms) {
    await page.goto(origin + url, { waitUntil: 'domcontentloaded' });
    const inputs = await page.$$eval('form.complaint textarea, form.complaint input', (els) => els
      .filter((el) => el.tagName === 'TEXTAREA' || !['radio', 'checkbox', 'file', 'hidden', 'submit', 'button'].includes(el.type))
      .map((el) => ({ id: el.id, maxlength: el.getAttribute('maxlength') })));
    assert.ok(inputs.length > 0, `${url}: no text answers`);
    for (const { id, maxlength } of inputs) {
      assert.ok(maxlength !== null && Number(maxlength) > 0 && Number(maxlength) <= MAX_LENGTH, `${url} #${id}: maxlength ${maxlength}`);
      checked++;
    }
  }
  console.log(`${checked} text answers in ${forms.length} forms have a maxlength`);
  await context.close();
});

// openForm opens a form with JavaScript, answers its required questions briefly and records every
// POST the page makes.
async function openForm(lang, procedure) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST') posts.push(r.url()); });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const url = `${origin}/${lang}/forms/${procedure}/`;
  await page.goto(url);
  await page.waitForSelector('form.encrypts-here'); // the script runs
  const def = JSON.parse(fs.readFileSync(path.join(site, lang, 'forms', procedure, 'form.json'), 'utf8'));
  for (const f of def.fields.filter((f) => f.required)) {
    if (f.type === 'choice') await page.check(`input[name="${f.name}"][value="${f.options[0].value}"]`);
    else await page.fill(`#f-${f.name}`, 'kurz');
  }
  return { context, page, posts, errors, def };
}

// setAnswer sets a value from script, as maxlength only stops typing and pasting.
const setAnswer = (page, name, value) => page.$eval(`#f-${name}`, (el, v) => { el.value = v; }, value);

async function submitAndWait(page, expected) {
  await page.click('button[type=submit]');
  await page.waitForFunction((m) => document.getElementById('form-status').textContent === m, expected, { timeout: 10_000 })
    .catch(async () => assert.fail(`status is ${JSON.stringify(await page.textContent('#form-status'))}, want ${JSON.stringify(expected)}`));
  await page.waitForTimeout(500); // time for a request that should not come
}

for (const { lang, procedure, name } of [
  { lang: 'de', procedure: 'kok-complaints', name: 'what-happened' },
  { lang: 'ar', procedure: 'mk-act-complaints', name: 'why-unhappy' },
]) {
  test(`${lang}: an answer over 256 KiB is refused in the browser, naming its question, and nothing is sent`, async () => {
    const { context, page, posts, errors, def } = await openForm(lang, procedure);
    const label = def.fields.find((f) => f.name === name).label;
    const template = await page.getAttribute('form', 'data-msg-answer-too-long');
    assert.equal(template, def.messages.answer_too_long, 'the page and form.json say the same');
    assert.ok(template.includes('{label}'), template);

    // One byte over ('ü' is 2 bytes of UTF-8); the next test shows exactly the limit passes.
    await setAnswer(page, name, 'ü'.repeat(MAX_ANSWER / 2) + 'a');
    await submitAndWait(page, template.replace('{label}', () => label));
    assert.equal(await page.evaluate(() => document.activeElement.id), `f-${name}`, 'focus moves to the answer');
    await page.screenshot({ path: path.join(artifacts, `form-${lang}-answer-too-long.png`) });

    // A label is text, never markup, and "$&" in it is not a replacement pattern.
    const odd = 'Was <b>ist</b> $& $\' passiert?';
    await page.$eval(`[data-field][data-name="${name}"]`, (el, l) => { el.dataset.label = l; }, odd);
    await submitAndWait(page, template.replace('{label}', () => odd));
    assert.equal(await page.$eval('#form-status', (el) => el.childElementCount), 0, 'no element inside the status');

    assert.deepEqual(posts, [], 'nothing was sent');
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test('answers within 256 KiB each but over 1 MiB together are refused in the browser, and nothing is sent', async () => {
  const { context, page, posts, errors, def } = await openForm('en', 'mk-act-complaints');
  const texts = def.fields.filter((f) => (f.type === 'text' || f.type === 'textarea') && !f.when);
  assert.ok(texts.length * MAX_ANSWER > 1 << 20, `${texts.length} text answers cannot exceed 1 MiB`);
  // Exactly 256 KiB each: the limit itself is allowed, so it is the header that is refused.
  for (const f of texts) await setAnswer(page, f.name, 'ü'.repeat(MAX_ANSWER / 2));
  const expected = await page.getAttribute('form', 'data-msg-answers-too-long');
  assert.equal(expected, def.messages.answers_too_long);
  await submitAndWait(page, expected);
  assert.deepEqual(posts, [], 'nothing was sent');
  assert.deepEqual(errors, []);
  await context.close();
});
