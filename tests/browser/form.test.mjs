// The complaint forms end to end, in Debian's chromium: a staff key from keytool, the site built
// for it, the real drop box binary on loopback, the form filled in and sent with JavaScript
// (encrypted in the browser) and without (encrypted on arrival), then keytool decrypt, comparing
// every field and every attachment's SHA-256 with what was typed and attached, and the followup
// value inside with the one the receipt's codename gives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { repo, artifacts, launch, buildTools, keygen, startDropbox as startBox, fillForm, axeViolations } from './lib.mjs';
import { parseCodename, deriveKeys, followupFirst } from '../../themes/safe/assets/js/codename.js';

const MiB = 1 << 20;
let tmp, keyDir, bin, browser;

// The organisations of config.toml, and the form of each that the tests fill in.
const ORGS = ['kok', 'mk-act', 'kinderrechtencoalitie'];

// startDropbox runs the drop box (lib.mjs) with this file's tools and folder.
const startDropbox = (name, orgKeys) => startBox(bin, tmp, name, orgKeys);

// staffOfEach makes one keytool key for each organisation: { id: key }.
function staffOfEach(name) {
  return Object.fromEntries(ORGS.map((id) => [id, keygen(bin, keyDir, `${name}-${id}`)]));
}

const pubsOf = (staff) => Object.fromEntries(Object.entries(staff).map(([id, k]) => [id, [k.pub]]));

// sessionKeys lists the key IDs or fingerprints a stored message's session keys are for.
function sessionKeys(file) {
  const out = execFileSync(path.join(bin, 'keytool'), ['inspect', file]).toString();
  return [...out.matchAll(/session key v\d for key (?:ID )?([0-9A-F]+)/g)].map((m) => m[1]);
}

function decrypt(key, spool) {
  const out = path.join(tmp, `cases-${path.basename(key.key)}`);
  execFileSync(path.join(bin, 'keytool'), ['decrypt', '--key', key.key, '--passphrase-file', key.pass, '--in', spool, '--out', out]);
  return out;
}

// refusedBy runs keytool decrypt with a key that must not open anything in spool, and returns
// what it said.
function refusedBy(key, spool) {
  try {
    execFileSync(path.join(bin, 'keytool'), ['decrypt', '--key', key.key, '--passphrase-file', key.pass, '--in', spool, '--out', path.join(tmp, `refused-${crypto.randomUUID()}`)], { stdio: 'pipe' });
  } catch (err) {
    return err.stdout.toString();
  }
  throw new Error(`${key.key} decrypted something in ${spool}`);
}

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'form-test-'));
  fs.mkdirSync(artifacts, { recursive: true });
  keyDir = fs.mkdtempSync(path.join(artifacts, 'keys-'));
  bin = buildTools(tmp);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  fs.rmSync(keyDir, { recursive: true, force: true });
  fs.rmSync(tmp, { recursive: true, force: true });
});

const scenarios = [
  { lang: 'de', procedure: 'kok-complaints', org: 'kok' },
  { lang: 'en', procedure: 'mk-act-complaints', org: 'mk-act' },
  { lang: 'ar', procedure: 'child-integrity-contact', org: 'kinderrechtencoalitie' },
];

test('forms are encrypted in the browser, or on arrival without JavaScript, to their organisation only, and decrypt to what was typed', async () => {
  const staff = staffOfEach('v6');
  const box = await startDropbox('v6', pubsOf(staff));
  try {
    for (const javaScriptEnabled of [true, false]) {
      for (const { lang, procedure, org } of scenarios) {
        const label = `${lang}/${procedure} ${javaScriptEnabled ? 'with' : 'without'} JavaScript`;
        const context = await browser.newContext({ javaScriptEnabled, viewport: { width: 390, height: 844 } });
        // A 25 MiB file goes to the page through the DevTools protocol, in base64: 47 s on this
        // 2-core machine while other tests run, past playwright's 30 s.
        context.setDefaultTimeout(120_000);
        const page = await context.newPage();
        const offsite = [];
        page.on('request', (r) => { if (!r.url().startsWith(box.origin)) offsite.push(r.url()); });
        const url = `${box.origin}/${lang}/forms/${procedure}/`;
        const def = await (await fetch(`${url}form.json`)).json();
        await page.goto(url);
        // At the limit the page promises (max_attachment_bytes, 25 MiB), on both paths.
        const limit = Number(await page.getAttribute('form', 'data-max-bytes'));
        assert.equal(limit, 25 * MiB, `${label}: the form's limit`);
        const attachment = { name: `Beweis ${lang} ü.bin`, mimeType: 'application/octet-stream', buffer: crypto.randomBytes(limit) };
        if (javaScriptEnabled) assert.deepEqual(await axeViolations(page), [], `${label}: axe on the empty form`);
        const expected = await fillForm(page, def, attachment);
        const shot = `form-${lang}-${procedure}-${javaScriptEnabled ? 'js' : 'nojs'}`;
        if (lang === 'de') await page.screenshot({ path: path.join(artifacts, `${shot}.png`), fullPage: true });

        // The page says beforehand which way it will go.
        const how = javaScriptEnabled ? '.how-js' : '.how-nojs';
        assert.ok(await page.isVisible(how), `${label}: the notice ${how} is not shown`);
        assert.ok(!(await page.isVisible(javaScriptEnabled ? '.how-nojs' : '.how-js')), `${label}: both notices are shown`);

        await page.click('button[type=submit]');
        if (javaScriptEnabled) {
          if (lang === 'de') await page.screenshot({ path: path.join(artifacts, `${shot}-progress.png`) });
          await page.waitForSelector('#receipt:not([hidden])', { timeout: 60_000 });
        } else {
          await page.waitForSelector('.receipt-id', { timeout: 60_000 });
        }
        const id = (await page.textContent('#receipt-id')).trim();
        assert.match(id, /^[0-9a-f]{32}$/, `${label}: receipt ${id}`);
        // The codename: 26 digits in groups of five whose check digit is right, with the way to
        // the organisation's answers page (docs/answers.md, "The codename on the receipt").
        const shown = (await page.textContent('#codename')).trim();
        assert.match(shown, /^[0-9]{5}( [0-9]{5}){4} [0-9]$/, `${label}: codename "${shown}"`);
        const codename = parseCodename(shown).digits;
        assert.ok(codename, `${label}: codename ${shown} fails its check digit`);
        assert.ok(await page.isVisible('#codename'), `${label}: the codename is not shown`);
        assert.ok(!(await page.isVisible('#codename-missing')), `${label}: the receipt says the codename is missing`);
        assert.equal(await page.getAttribute('.answers-link a', 'href'), `/${lang}/answers/${org}/`, `${label}: link to the answers page`);
        if (lang === 'de' || lang === 'ar') await page.screenshot({ path: path.join(artifacts, `${shot}-receipt.png`), fullPage: true });
        assert.ok((await page.textContent('main')).length > 100, `${label}: the receipt says what happens next`);
        if (javaScriptEnabled) assert.deepEqual(await axeViolations(page), [], `${label}: axe on the receipt`);

        // Nothing kept in the browser, nothing asked of another host.
        assert.deepEqual(await context.cookies(), [], `${label}: cookies`);
        if (javaScriptEnabled) {
          const stored = await page.evaluate(async () => [localStorage.length, sessionStorage.length, (await indexedDB.databases()).length]);
          assert.deepEqual(stored, [0, 0, 0], `${label}: web storage`);
        }
        assert.deepEqual(offsite, [], `${label}: requests to other hosts`);
        await context.close();

        // What reached the server is ciphertext: the drop box stores an upload byte for byte, so
        // the stored file is what the browser sent (with JavaScript) or what the server encrypted
        // (without). No typed words, no attachment bytes; OpenPGP session keys first.
        const file = path.join(box.spool(org), `${id}.pgp`);
        const stored = fs.readFileSync(file);
        assert.ok(stored.length > limit, `${label}: the stored message holds the whole attachment`);
        // Padded inside the encryption (docs/format.md, "Padding of submissions"): 25 MiB of
        // files and a short form are 26 MiB, on both paths.
        assert.ok(stored.length >= 26 * MiB && stored.length < 26 * MiB + 16384, `${label}: ${stored.length} bytes stored, not the 26 MiB the padding makes`);
        assert.ok(stored[0] === 0xc1 || (stored[0] & 0xfc) === 0x84, `${label}: the first packet is not a session key (byte ${stored[0]})`);
        for (const { value } of expected) {
          // Lines of at least 12 bytes: a shorter one ("Ja") turns up by chance in 25 MiB of ciphertext.
          for (const line of value.split('\n').filter((l) => Buffer.byteLength(l) >= 12)) {
            assert.ok(!stored.includes(Buffer.from(line)), `${label}: "${line}" is in the stored file in the clear`);
          }
        }
        assert.ok(!stored.includes(attachment.buffer.subarray(0, 64)), `${label}: attachment bytes in the clear`);
        assert.ok(!stored.includes(Buffer.from(codename)), `${label}: the codename is in the stored file in the clear`);

        // Encrypted to its organisation's one staff key and no other: in its organisation's folder,
        // one session key, which that key opens and no other organisation's key does.
        assert.equal(sessionKeys(file).length, 1, `${label}: session keys ${sessionKeys(file)}`);
        for (const other of ORGS.filter((o) => o !== org)) {
          assert.ok(!fs.existsSync(path.join(box.spool(other), `${id}.pgp`)), `${label}: stored in ${other}'s folder too`);
          const said = refusedBy(staff[other], box.spool(org));
          assert.ok(said.includes(`${id}  not yours`), `${label}: ${other}'s key was not refused plainly:\n${said}`);
        }
        const cases = decrypt(staff[org], box.spool(org));
        const got = JSON.parse(fs.readFileSync(path.join(cases, id, 'submission.json'), 'utf8'));
        assert.equal(got.procedure, procedure, label);
        assert.equal(got.lang, lang, label);
        assert.equal(got.encrypted_by, javaScriptEnabled ? 'browser' : 'server', `${label}: where it was encrypted`);
        assert.deepEqual(got.fields, expected, `${label}: fields`);
        assert.equal(got.attachments.length, 1, `${label}: attachments`);
        assert.equal(got.attachments[0].name, attachment.name, `${label}: attachment name`);
        assert.equal(got.attachments[0].sha256, sha256(attachment.buffer), `${label}: attachment SHA-256`);
        const files = fs.readdirSync(path.join(cases, id, 'attachments'));
        assert.equal(sha256(fs.readFileSync(path.join(cases, id, 'attachments', files[0]))), sha256(attachment.buffer), `${label}: attachment bytes`);
        // Inside the encryption, the first complaint's followup value of the receipt's codename at
        // this organisation: keytool files it as followup.json, for keytool reply.
        const followup = JSON.parse(fs.readFileSync(path.join(cases, id, 'followup.json'), 'utf8'));
        assert.deepEqual(followup, followupFirst(await deriveKeys(codename, org), org), `${label}: followup value`);
      }
    }
  } finally {
    box.proc.kill();
  }
});

test('a form page with everything it loads is at most 70 KiB brotli-compressed', async () => {
  const box = await startDropbox('weight', pubsOf(staffOfEach('weight')));
  try {
    for (const { lang, procedure } of scenarios) {
      const page = await browser.newPage();
      const responses = [];
      page.on('response', (r) => responses.push(r));
      await page.goto(`${box.origin}/${lang}/forms/${procedure}/`, { waitUntil: 'networkidle' });
      const loaded = [];
      for (const r of responses) {
        loaded.push({ url: r.url(), size: zlib.brotliCompressSync(await r.body()).length });
      }
      const total = loaded.reduce((n, b) => n + b.size, 0);
      console.log(`# /${lang}/forms/${procedure}/ ${total} B brotli: ${loaded.map((b) => `${path.basename(new URL(b.url).pathname) || 'page'} ${b.size}`).join(', ')}`);
      assert.ok(loaded.some((b) => b.url.includes('/js/form.')), 'the form script was loaded');
      assert.ok(total <= 70 * 1024, `/${lang}/forms/${procedure}/ loads ${total} B brotli, over 70 KiB`);
      await page.close();
    }
  } finally {
    box.proc.kill();
  }
});

test('an attachment over the limit is refused in the browser and nothing is sent', async () => {
  const box = await startDropbox('limit', pubsOf(staffOfEach('limit')));
  try {
    const context = await browser.newContext();
    context.setDefaultTimeout(120_000); // the file of 25 MiB and a byte: see the first test
    const page = await context.newPage();
    const posts = [];
    page.on('request', (r) => { if (r.method() === 'POST') posts.push(r.url()); });
    await page.goto(`${box.origin}/de/forms/kok-complaints/`);
    await page.fill('#f-what-happened', 'zu groß');
    const limit = Number(await page.getAttribute('form', 'data-max-bytes'));
    await page.setInputFiles('#f-files', { name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(limit + 1) });
    const message = await page.getAttribute('form', 'data-msg-too-large');
    await page.waitForFunction((m) => document.getElementById('form-status').textContent === m, message);
    await page.click('button[type=submit]');
    await page.waitForTimeout(500);
    assert.equal(await page.textContent('#form-status'), message);
    await page.screenshot({ path: path.join(artifacts, 'form-de-too-large.png') });
    assert.deepEqual(posts, [], 'nothing was sent');
    assert.equal(fs.readdirSync(box.spool('kok')).filter((f) => f.endsWith('.pgp')).length, 0, 'nothing stored');
    await context.close();
  } finally {
    box.proc.kill();
  }
});

test('an existing GnuPG key works as a recipient beside a keytool key', async () => {
  const staff = staffOfEach('mixed');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gpg-'));
  const gpg = (...args) => execFileSync('gpg', ['--homedir', home, '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', 'gpg test passphrase', ...args]);
  try {
    gpg('--quick-gen-key', 'Old Staff <old@example.org>', 'ed25519', 'sign,cert', '0');
    const fpr = /fpr:::::::::([0-9A-F]{40}):/.exec(gpg('--list-keys', '--with-colons').toString())[1];
    gpg('--quick-add-key', fpr, 'cv25519', 'encr', '0');
    const gpgPub = path.join(keyDir, 'old.pub.asc');
    fs.writeFileSync(gpgPub, gpg('--armor', '--export', fpr));
    const box = await startDropbox('mixed', { ...pubsOf(staff), kok: [staff.kok.pub, path.relative(repo, gpgPub)] });
    try {
      const send = async (text) => {
        const page = await browser.newPage();
        await page.goto(`${box.origin}/en/forms/kok-complaints/`);
        await page.fill('#f-what-happened', text);
        await page.click('button[type=submit]');
        await page.waitForSelector('#receipt:not([hidden])', { timeout: 60_000 });
        const id = (await page.textContent('#receipt-id')).trim();
        await page.close();
        return id;
      };
      // Two short answers of different lengths and scripts, sent from the form's script.
      const texts = ['to a v6 and a v4 key', 'لم يدفعوا لي أجري منذ ثلاثة أشهر. '.repeat(25).trim()];
      const ids = [];
      for (const text of texts) ids.push(await send(text));
      const files = ids.map((id) => path.join(box.spool('kok'), `${id}.pgp`));
      for (const [i, file] of files.entries()) {
        // GnuPG 2.2 reads it with the old key (OpenPGP.js chose SEIPDv1 for both)...
        const plain = gpg('--decrypt', file);
        assert.match(plain.toString(), /^complaint-submission\/1\n/);
        assert.ok(plain.toString().includes(texts[i]));
        // ...padded inside the encryption to 4 KiB, the first padded size, with zero bytes.
        assert.equal(plain.length, 4096, `the plaintext of "${texts[i].slice(0, 20)}..." is not padded to 4 KiB`);
        assert.equal(plain.at(-1), 0, 'the plaintext does not end with its padding');
      }
      // So their ciphertexts are of one size: a seized spool cannot tell them apart by it.
      const sizes = files.map((f) => fs.statSync(f).size);
      assert.equal(sizes[0], sizes[1], `two short submissions stored as ${sizes} bytes`);
      // ...and keytool reads them with the new key.
      const cases = decrypt(staff.kok, box.spool('kok'));
      for (const id of ids) assert.ok(fs.existsSync(path.join(cases, id, 'summary.txt')));
    } finally {
      box.proc.kill();
    }
  } finally {
    try { execFileSync('gpgconf', ['--homedir', home, '--kill', 'all']); } catch { /* already gone */ }
    fs.rmSync(home, { recursive: true, force: true });
  }
});
