// Times the answers page (docs/benchmarks.md, "Answers: from codename to answer shown"):
//  - in Debian's chromium, with the JIT and without it (--jitless, as Tor Browser's Safer level
//    runs JavaScript): from the click on "Show answers" to the answer shown, for one answer of
//    10 KiB of text: the PBKDF2 stretching, the request, OpenPGP.js's decryption, the page;
//  - the drop box's time for one check of a page sent without JavaScript (it derives, reads and
//    decrypts in its memory): with that answer, and for a wrong codename;
//  - the page's weight: everything the browser loads for it, brotli-compressed at quality 11.
// The answer travels the real way: a complaint with a codename's followup value, encrypted by
// OpenPGP.js to a keytool key and posted; keytool decrypt; keytool reply; dropbox replies import.
// Median of RUNS runs each.   node scripts/bench-answers.mjs   (make bench runs it)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';
import * as openpgp from 'openpgp';
import { repo, buildTools, keygen, startDropbox } from '../tests/browser/lib.mjs';
import { newCodename, group, deriveKeys, followupFirst } from '../themes/safe/assets/js/codename.js';

const runs = Number(process.env.RUNS ?? 5);
const ORGS = ['kok', 'mk-act', 'kinderrechtencoalitie'];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-answers-'));
fs.mkdirSync(path.join(repo, 'test-artifacts'), { recursive: true });
const keyDir = fs.mkdtempSync(path.join(repo, 'test-artifacts', 'bench-keys-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const brotli = (buf) => zlib.brotliCompressSync(buf, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let box;
try {
  const bin = buildTools(tmp);
  const staff = Object.fromEntries(ORGS.map((id) => [id, keygen(bin, keyDir, `bench-answers-${id}`)]));
  box = await startDropbox(bin, tmp, 'bench', Object.fromEntries(ORGS.map((id) => [id, [staff[id].pub]])), { answers: true });

  // A complaint to KOK with a codename, as the form sends it.
  const codename = newCodename();
  const keys = await deriveKeys(codename, 'kok');
  const header = {
    procedure: 'kok-complaints', lang: 'en', fields: [{ name: 'what-happened', label: 'What happened?', value: 'A benchmark complaint.' }],
    attachments: [], followup: followupFirst(keys, 'kok'),
  };
  const plaintext = new TextEncoder().encode(`complaint-submission/1\n${JSON.stringify(header)}\n`);
  const encryptionKeys = [await openpgp.readKey({ armoredKey: fs.readFileSync(path.join(repo, staff.kok.pub), 'utf8') })];
  const message = await openpgp.createMessage({ binary: plaintext, format: 'binary', date: new Date(0) });
  const ciphertext = await openpgp.encrypt({ message, encryptionKeys, format: 'binary', config: { preferredCompressionAlgorithm: 0 } });
  const posted = await fetch(`${box.origin}/api/v1/orgs/kok/submissions`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: ciphertext });
  const { id } = await posted.json();

  // Its answer: 10 KiB of text, the real way.
  const cases = path.join(tmp, 'cases');
  const keytool = (...args) => execFileSync(path.join(bin, 'keytool'), args, { stdio: 'pipe' });
  keytool('decrypt', '--key', staff.kok.key, '--passphrase-file', staff.kok.pass, '--in', box.spool('kok'), '--out', cases);
  const text = path.join(tmp, 'answer.txt');
  const line = 'We have read your complaint and will write to you again within five working days.\n';
  fs.writeFileSync(text, line.repeat(Math.ceil(10240 / line.length)).slice(0, 10240));
  keytool('reply', '--cases', cases, '--case', id, '--out', path.join(tmp, 'outbox'), '--text', text);
  execFileSync(path.join(bin, 'dropbox'), ['replies', 'import', '--config', box.config, '--environment', 'production', path.join(tmp, 'outbox')], { stdio: 'pipe' });

  const url = `${box.origin}/en/answers/kok/`;
  const rows = [];
  let weight;
  const probe = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] });
  const version = `Chromium ${probe.version()}`;
  await probe.close();
  for (const [mode, flags] of [['JIT', []], ['no JIT (--jitless)', ['--js-flags=--jitless']]]) {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', ...flags] });
    const page = await browser.newPage();
    const loaded = [];
    page.on('response', async (r) => { if (r.request().method() === 'GET') loaded.push({ url: r.url(), body: await r.body().catch(() => Buffer.alloc(0)) }); });
    const times = [];
    for (let i = 0; i < runs + 1; i++) {
      await page.goto(url);
      await page.fill('#codename', group(codename));
      const started = Date.now();
      await page.click('#answers-open [type=submit]');
      await page.waitForSelector('article.answer', { timeout: 60_000 });
      if (i > 0) times.push(Date.now() - started); // the first run warms the cache and the server
      await sleep(250); // under answer_checks: the limit is not what is measured
    }
    rows.push({ mode, ms: median(times), all: times });
    if (!weight) {
      const seen = new Map(loaded.map((l) => [l.url, l.body]));
      weight = { total: [...seen.values()].reduce((n, b) => n + brotli(b), 0), parts: [...seen].map(([u, b]) => `${new URL(u).pathname} ${brotli(b)}`) };
    }
    await browser.close();
  }

  // The drop box's time for one check sent without JavaScript.
  const server = [];
  for (const [what, digits] of [['a codename with one 10 KiB answer', codename], ['a wrong codename (no answers)', newCodename()]]) {
    const times = [];
    for (let i = 0; i < runs + 1; i++) {
      const started = performance.now();
      const r = await fetch(`${box.origin}/api/v1/orgs/kok/answers-page/en`, {
        method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `codename=${encodeURIComponent(group(digits))}`,
      });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`the page without JavaScript answered ${r.status}`);
      if (i > 0) times.push(performance.now() - started);
      await sleep(250);
    }
    server.push({ what, ms: median(times), all: times.map(Math.round) });
  }

  console.log(`\n### Answers page, ${version}, ${os.cpus().length} cores (${os.cpus()[0].model}), median of ${runs}\n`);
  console.log('| from the click to the answer shown (10 KiB of text) | median | all runs |');
  console.log('| --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.mode} | ${r.ms} ms | ${r.all.join(', ')} |`);
  console.log('\n| the drop box, one check without JavaScript | median | all runs |');
  console.log('| --- | --- | --- |');
  for (const r of server) console.log(`| ${r.what} | ${Math.round(r.ms)} ms | ${r.all.join(', ')} |`);
  console.log(`\nThe page with everything it loads: ${weight.total} bytes brotli (${(weight.total / 1024).toFixed(1)} KiB): ${weight.parts.join(', ')}`);
} finally {
  box?.proc.kill();
  fs.rmSync(keyDir, { recursive: true, force: true });
  fs.rmSync(tmp, { recursive: true, force: true });
}
