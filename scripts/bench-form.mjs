// Times the form's encryption in Debian's chromium: the bundled js/form.js (OpenPGP.js's
// lightweight build) encrypting 1, 10 and 25 MiB to a keytool key, with the JIT and without it
// (--jitless, as Tor Browser's Safer level runs JavaScript). Median of RUNS runs each. Then what
// padding costs (docs/format.md, "Padding of submissions"): the page's own buildPlaintext makes
// the plaintext of the form with a file of 1, 10 and 25 MiB, padded, and the same plaintext is
// encrypted padded and cut back to its length before padding.
//   node scripts/bench-form.mjs        (make bench runs it; needs `make deps`)
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { timeEncryption } from '../tests/browser/lib.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env.RUNS ?? 5);
const sizes = [1, 10, 25];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-form-'));
const keyDir = fs.mkdtempSync(path.join(repo, 'test-artifacts', 'bench-keys-'));

const run = (cmd, args, env = process.env) => execFileSync(cmd, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'inherit'] });
try {
  run('go', ['build', '-o', path.join(tmp, 'keytool'), './keytool']);
  run('go', ['build', '-o', path.join(tmp, 'dropbox'), './dropbox']);
  fs.writeFileSync(path.join(keyDir, 'pass'), 'a benchmark passphrase\n');
  // A key for each organisation of config.toml, given in a second configuration file; the form
  // timed is KOK's, so the bench key is KOK's.
  let orgs = '';
  for (const org of ['kok', 'mk-act', 'kinderrechtencoalitie']) {
    run(path.join(tmp, 'keytool'), ['keygen', '--name', `bench ${org}`, '--out', keyDir, '--passphrase-file', path.join(keyDir, 'pass')]);
    orgs += `[params.organisations.${org}]\nkeys = ${JSON.stringify([path.relative(repo, path.join(keyDir, `bench-${org}.pub.asc`))])}\n`;
  }
  fs.writeFileSync(path.join(tmp, 'organisations.toml'), orgs);
  const config = `config.toml,${path.join(tmp, 'organisations.toml')}`;
  const site = path.join(tmp, 'site');
  run('go', ['tool', 'hugo', '--source', repo, '--config', config, '--destination', site, '--minify', '--quiet'],
    { ...process.env, HUGO_ENVIRONMENT: 'production' });
  const server = spawn(path.join(tmp, 'dropbox'), ['serve', '--config', config, '--environment', 'production', '--site', site,
    '--spool', path.join(tmp, 'spool'), '--listen', '127.0.0.1:0'], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
  const origin = await new Promise((resolve) => {
    readline.createInterface({ input: server.stderr }).on('line', (line) => {
      try { const e = JSON.parse(line); if (e.msg === 'listening') resolve(`http://${e.address}`); } catch { /* not JSON */ }
    });
  });
  // The Debian wrapper script's --version complains on this machine; ask the browser itself.
  const probe = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] });
  const chromiumVersion = `Chromium ${probe.version()}`;
  await probe.close();
  const rows = [];
  const padRows = [];
  const median = (times) => times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
  for (const [mode, flags] of [['JIT', []], ['no JIT (--jitless)', ['--js-flags=--jitless']]]) {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', ...flags] });
    const page = await browser.newPage();
    await page.goto(`${origin}/en/forms/kok-complaints/`);
    for (const mib of sizes) {
      const times = [];
      for (let i = 0; i < runs; i++) {
        times.push(await timeEncryption(page, mib << 20));
      }
      times.sort((a, b) => a - b);
      rows.push({ mode, mib, median: times[Math.floor(times.length / 2)], min: times[0], max: times.at(-1) });
    }
    for (const mib of sizes) {
      const runsOf = [];
      for (let i = 0; i < runs; i++) {
        runsOf.push(await page.evaluate(async ([bytes, paddedFirst]) => {
          const src = document.querySelector('script[src*="/js/form."]').src;
          const { buildPlaintext, encryptTo } = await import(src);
          const data = new Uint8Array(bytes);
          for (let off = 0; off < bytes; off += 65536) crypto.getRandomValues(data.subarray(off, off + 65536));
          const form = document.querySelector('form');
          const keys = JSON.parse(form.dataset.keys);
          let t0 = performance.now();
          const plain = await buildPlaintext(form, [...form.querySelectorAll('[data-field]')], [new File([data], 'scan.pdf', { type: 'application/pdf' })]);
          const buildMs = performance.now() - t0;
          const line = plain.indexOf(10, 23);
          const { padding } = JSON.parse(new TextDecoder().decode(plain.subarray(23, line)));
          const unpadded = plain.length - padding - `,"padding":${padding}`.length;
          const timed = async (bytes) => {
            const started = performance.now();
            await encryptTo(bytes, keys);
            return performance.now() - started;
          };
          // In turns, padded first every other run, so that neither gains from going second.
          const paddedMs = paddedFirst ? await timed(plain) : 0;
          const plainMs = await timed(plain.subarray(0, unpadded));
          const ms = paddedFirst ? paddedMs : await timed(plain);
          return { unpadded, padded: plain.length, buildMs, plainMs, paddedMs: ms };
        }, [mib << 20, i % 2 === 0]));
      }
      padRows.push({ mode, mib, unpadded: runsOf[0].unpadded, padded: runsOf[0].padded,
        build: median(runsOf.map((r) => r.buildMs)), plain: median(runsOf.map((r) => r.plainMs)), padded_ms: median(runsOf.map((r) => r.paddedMs)),
        cost: median(runsOf.map((r) => r.paddedMs - r.plainMs)) });
    }
    await browser.close();
  }
  server.kill();
  console.log(`Encryption in ${chromiumVersion}, ${os.cpus()[0].model}, ${os.cpus().length} cores; median of ${runs} runs.\n`);
  console.log('| mode | size | median | min | max | goal (25 MiB < 1 s) |');
  console.log('| --- | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) {
    const goal = r.mib === 25 ? (r.median < 1000 ? 'met' : 'missed') : '';
    console.log(`| ${r.mode} | ${r.mib} MiB | ${r.median.toFixed(0)} ms | ${r.min.toFixed(0)} ms | ${r.max.toFixed(0)} ms | ${goal} |`);
  }
  console.log(`\nPadding: the form with a file, built by the page (buildPlaintext, padded), and encrypted cut back to its length before padding and whole, in turns; medians of ${runs} runs (the cost: the median of each run's difference).\n`);
  console.log('| mode | file | plaintext unpadded | padded | overhead | build (padded) | encrypt unpadded | encrypt padded | padding costs |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of padRows) {
    const pct = (100 * (r.padded - r.unpadded)) / r.unpadded;
    console.log(`| ${r.mode} | ${r.mib} MiB | ${r.unpadded} | ${r.padded} | ${pct.toFixed(1)} % | ${r.build.toFixed(0)} ms | ${r.plain.toFixed(0)} ms | ${r.padded_ms.toFixed(0)} ms | ${r.cost.toFixed(0)} ms |`);
  }
} finally {
  fs.rmSync(keyDir, { recursive: true, force: true });
  fs.rmSync(tmp, { recursive: true, force: true });
}
