// Shared by the browser tests: a tiny static server for site/public that sends the CSP the
// drop box sends, and Debian's chromium driven by playwright-core. Not a test file itself.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync, spawn } from 'node:child_process';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const publicDir = process.env.SITE_PUBLIC
  ? path.resolve(process.env.SITE_PUBLIC)
  : path.join(repo, 'site', 'public');
export const artifacts = path.join(repo, 'test-artifacts');
export const CSP = "default-src 'self'; frame-ancestors 'none'";

const types = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

/** Fails with a hint when the site has not been built. */
export function requireBuiltSite() {
  if (!fs.existsSync(path.join(publicDir, 'index.html'))) {
    throw new Error(`${publicDir} is not built: run \`make site\` first`);
  }
}

/** Maps a URL path to a file of the built site, or null. */
export function fileFor(urlPath) {
  let p = decodeURIComponent(urlPath.split('?')[0].split('#')[0]);
  if (p.endsWith('/')) p += 'index.html';
  const file = path.join(publicDir, path.normalize(p));
  if (!file.startsWith(publicDir)) return null;
  if (fs.existsSync(file) && fs.statSync(file).isFile()) return file;
  const index = path.join(file, 'index.html');
  return fs.existsSync(index) ? index : null;
}

/** Serves site/public on 127.0.0.1 with the CSP header; resolves to {server, origin}. */
export function startServer() {
  requireBuiltSite();
  const server = http.createServer((req, res) => {
    const headers = {
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    };
    const file = fileFor(new URL(req.url, 'http://x').pathname);
    if (!file) {
      res.writeHead(404, { ...headers, 'Content-Type': types['.txt'] });
      res.end('not found');
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': types[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ server, origin: `http://127.0.0.1:${server.address().port}` });
    });
  });
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** URL paths of every HTML page of one language (its folder under site/public). */
export function pagesOf(lang) {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith('.html')) {
        const rel = '/' + path.relative(publicDir, full).split(path.sep).join('/');
        out.push(rel.endsWith('/index.html') ? rel.slice(0, -'index.html'.length) : rel);
      }
    }
  };
  walk(path.join(publicDir, lang));
  return out.sort();
}

/**
 * Watches a page for what the site must never do: load from another host, break the CSP,
 * log an error. Returns the list of problems found so far (filled while the page lives).
 */
export function watch(page, origin, { allow = [] } = {}) {
  const problems = [];
  page.on('request', (req) => {
    const u = req.url();
    if (u.startsWith(origin + '/')) return;
    if (allow.some((a) => u.startsWith(a))) return;
    problems.push(`request to another host: ${u}`);
  });
  page.on('console', (msg) => {
    const text = msg.text();
    if (/Content Security Policy/i.test(text)) problems.push(`CSP violation: ${text}`);
    else if (msg.type() === 'error') problems.push(`console error: ${text}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  return problems;
}

// ---- The real binaries, keys and drop box, for the tests that go end to end. ----

/** Builds dropbox and keytool into dir/bin and returns that folder. */
export function buildTools(dir) {
  const bin = path.join(dir, 'bin');
  for (const cmd of ['dropbox', 'keytool']) {
    execFileSync('go', ['build', '-o', path.join(bin, cmd), `./${cmd}`], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  }
  return bin;
}

/**
 * Makes a staff key with keytool in keyDir (inside the repository, as Hugo reads no key file
 * outside it): { pub (relative to the repository), key, pass }.
 */
export function keygen(bin, keyDir, name) {
  const pass = path.join(keyDir, `${name}.pass`);
  fs.writeFileSync(pass, `a long test passphrase for ${name}\n`, { mode: 0o600 });
  execFileSync(path.join(bin, 'keytool'), ['keygen', '--name', name, '--out', keyDir, '--passphrase-file', pass]);
  return { pub: path.relative(repo, path.join(keyDir, `${name}.pub.asc`)), key: path.join(keyDir, `${name}.key.asc`), pass };
}

/**
 * Builds the site with each organisation's public keys (orgKeys: id → .pub paths), given as a
 * second configuration file over config.toml, and runs the drop box with the same two files on
 * a free loopback port. With answers, the answers folder is tmp/answers-<name>. Resolves to
 * { proc, origin, config, spool(id), answers }.
 */
export async function startDropbox(bin, tmp, name, orgKeys, { answers = false } = {}) {
  const extra = path.join(tmp, `organisations-${name}.toml`);
  const answersDir = path.join(tmp, `answers-${name}`);
  fs.writeFileSync(extra, (answers ? `[params.dropbox]\nanswers = ${JSON.stringify(answersDir)}\n` : '')
    + Object.entries(orgKeys).map(([id, pubs]) => `[params.organisations.${id}]\nkeys = ${JSON.stringify(pubs)}\n`).join(''));
  const config = `${path.join(repo, 'config.toml')},${extra}`;
  const site = path.join(tmp, `site-${name}`);
  execFileSync('go', ['tool', 'hugo', '--source', repo, '--config', config, '--destination', site, '--minify', '--quiet', '--panicOnWarning'], {
    cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HUGO_ENVIRONMENT: 'production' },
  });
  const spoolRoot = path.join(tmp, `spool-${name}`);
  const args = ['serve', '--config', config, '--environment', 'production', '--site', site, '--spool', spoolRoot, '--listen', '127.0.0.1:0'];
  const proc = spawn(path.join(bin, 'dropbox'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const origin = await new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: proc.stderr });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'listening') resolve(`http://${entry.address}`);
      } catch { /* not a log line */ }
    });
    proc.on('exit', (code) => reject(new Error(`dropbox exited with ${code}`)));
  });
  return { proc, origin, config, spool: (id) => path.join(spoolRoot, id), answers: answersDir };
}

/**
 * Fills a complaint form from its form.json: every choice that reveals a question chooses so,
 * texts in several scripts, the attachment in every file field. Returns the fields as the case
 * folder must hold them.
 */
export async function fillForm(page, def, attachment) {
  const reveals = new Map(def.fields.filter((f) => f.when).map((f) => [f.when.field, f.when.value]));
  const expected = [];
  const values = {};
  for (const f of def.fields) {
    if (f.when && values[f.when.field] !== f.when.value) continue;
    if (f.type === 'choice') {
      const option = f.options.find((o) => o.value === reveals.get(f.name)) ?? f.options.at(-1);
      await page.check(`input[name="${f.name}"][value="${option.value}"]`);
      values[f.name] = option.value;
      expected.push({ name: f.name, label: f.label, value: option.label });
    } else if (f.type === 'text' || f.type === 'textarea') {
      const text = f.type === 'text'
        ? `Antwort ${f.name} – ü ñ 中 ع`
        : `Erste Zeile für ${f.name}\nZweite Zeile mit "Anführung" und <b>kein HTML</b>`;
      await page.fill(`#f-${f.name}`, text);
      expected.push({ name: f.name, label: f.label, value: text });
    } else if (f.type === 'files') {
      await page.setInputFiles(`#f-${f.name}`, attachment);
    }
  }
  return expected;
}

const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
let axeSource;

/** Runs axe-core at WCAG 2.2 AA on the page as it is now; returns the violations, one line each. */
export async function axeViolations(page) {
  axeSource ??= fs.readFileSync(path.join(repo, 'node_modules/axe-core/axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  const result = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }), AXE_TAGS);
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}
