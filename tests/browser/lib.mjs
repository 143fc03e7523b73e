// Shared by the browser tests: a tiny static server for site/public that sends the CSP the
// drop box sends, Debian's chromium driven by playwright-core, and Debian's firefox-esr at Tor
// Browser's security levels driven by puppeteer-core over WebDriver BiDi. Not a test file itself.
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync, spawn } from 'node:child_process';
import readline from 'node:readline';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';

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

// ---- Firefox ESR as Tor Browser runs it. ----

// Tor Browser's security levels: the prefs its slider sets (kSecuritySettings in tor-browser's
// toolkit/components/securitylevel/SecurityLevel.sys.mjs). Safer turns off both JITs (Ion and
// Baseline), the regular-expression compiler, asm.js and WebAssembly, MathML, and Graphite and
// SVG-in-OpenType fonts; Safest adds SVG. Recent Tor Browsers leave javascript.options.wasm on and
// have NoScript keep WebAssembly from pages instead, so that the browser's own PDF viewer keeps
// it; there is no NoScript here, so the pref takes it away, and a page sees the same.
// What NoScript adds at each level is left out where the site cannot tell: at Safer it runs
// scripts on HTTPS and .onion sites only (the drop box is served as one or the other), and makes
// media and WebGL click-to-play (the site has none); at Safest it also blocks remote fonts (the
// site loads none).
const SAFER = {
  'javascript.options.ion': false,
  'javascript.options.baselinejit': false,
  'javascript.options.native_regexp': false,
  'javascript.options.asmjs': false,
  'javascript.options.wasm': false,
  'mathml.disabled': true,
  'gfx.font_rendering.graphite.enabled': false,
  'gfx.font_rendering.opentype_svg.enabled': false,
};
// At Safest NoScript blocks every script; javascript.enabled off does that for the page, and
// shows <noscript> content as NoScript does.
const SAFEST = { ...SAFER, 'svg.disabled': true, 'javascript.enabled': false };

// Keeps Firefox from calling home (telemetry, studies, updates, captive portal and connectivity
// checks, safe browsing, DNS over HTTPS, prefetching) on top of what puppeteer sets already, so
// that a run is quiet and does not wait on a network this machine does not have.
const QUIET = {
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.archive.enabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'app.normandy.enabled': false,
  'app.shield.optoutstudies.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'app.update.auto': false,
  'extensions.systemAddon.update.enabled': false,
  'extensions.blocklist.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'browser.safebrowsing.downloads.remote.enabled': false,
  'network.trr.mode': 5,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'network.predictor.enabled': false,
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'media.gmp-gmpopenh264.enabled': false,
  // Remote settings (blocklists, experiments) skip the network only with this server and
  // MOZ_DISABLE_NONLOCAL_CONNECTIONS set (launchFirefox).
  'services.settings.server': 'data:,#remote-settings-dummy/v1',
  // puppeteer 24's goBack waits for a load event that a page restored from the back-forward
  // cache never fires; without the cache going back loads the page again.
  'browser.sessionhistory.max_total_viewers': 0,
  'fission.bfcacheInParent': false,
};

/**
 * Listens where Firefox is told its SOCKS proxy is, as Tor Browser sends everything to tor's:
 * every connection is refused, and the host it asked for is kept in hosts. Loopback is not
 * proxied, so the drop box is reached; anything else Firefox tries ends up in hosts.
 */
function socksTrap() {
  const hosts = [];
  const server = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('error', () => {});
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      // SOCKS5: greeting (5, n, methods...), answered "no authentication"; then the request
      // (5, command, 0, address type, address, port), answered "connection not allowed".
      if (buf[0] !== 5) return sock.destroy();
      const greeting = 2 + buf[1];
      if (buf.length === greeting) return sock.write(Buffer.from([5, 0]));
      const req = buf.subarray(greeting);
      if (req.length < 5) return undefined;
      const host = req[3] === 3 ? req.subarray(5, 5 + req[4]).toString()
        : req[3] === 1 ? [...req.subarray(4, 8)].join('.') : req.subarray(4, 20).toString('hex');
      hosts.push(host);
      sock.end(Buffer.from([5, 2, 0, 1, 0, 0, 0, 0, 0, 0]));
      return undefined;
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, hosts, server }));
  });
}

/**
 * Starts Debian's firefox-esr (or $FIREFOX) headless with a fresh profile at Tor Browser's
 * security level ('safer' or 'safest'), driven by puppeteer-core over WebDriver BiDi. The browser
 * has offsite: the hosts other than loopback that Firefox tried to reach (socksTrap).
 */
export async function launchFirefox({ level }) {
  const prefs = { safer: SAFER, safest: SAFEST }[level];
  if (!prefs) throw new Error(`launchFirefox: level is 'safer' or 'safest', not ${level}`);
  const trap = await socksTrap();
  const browser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: process.env.FIREFOX ?? '/usr/bin/firefox-esr',
    headless: true,
    // Firefox refuses any connection but to loopback (where the SOCKS port is, too), and takes
    // the remote settings server from the prefs.
    env: { ...process.env, MOZ_DISABLE_NONLOCAL_CONNECTIONS: '1' },
    extraPrefsFirefox: {
      ...QUIET,
      'network.proxy.type': 1,
      'network.proxy.socks': '127.0.0.1',
      'network.proxy.socks_port': trap.port,
      'network.proxy.socks_version': 5,
      'network.proxy.socks_remote_dns': true,
      ...prefs,
    },
  });
  browser.offsite = trap.hosts;
  browser.once('disconnected', () => trap.server.close());
  return browser;
}

/**
 * Clicks an element where it is on the screen, as a person does. puppeteer's own click first
 * waits for an IntersectionObserver, which never answers in a page without JavaScript.
 */
export async function press(page, selector) {
  const el = await page.$(selector);
  if (!el) throw new Error(`press: nothing matches ${selector}`);
  await el.evaluate((e) => e.scrollIntoView({ block: 'center' }));
  const box = await el.boundingBox();
  if (!box) throw new Error(`press: ${selector} is not shown`);
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
}

/** Whether the element is on the page and shown (puppeteer page). */
export async function shown(page, selector) {
  const el = await page.$(selector);
  return el ? el.isVisible() : false;
}

/**
 * What fillForm needs of a page, for a puppeteer page: radio buttons clicked, text typed key by
 * key, attachments written into dir under their names and chosen in the file field.
 */
export function firefoxForm(page, dir) {
  return {
    check: (selector) => press(page, selector),
    fill: (selector, text) => page.type(selector, text),
    setInputFiles: async (selector, file) => {
      const where = fs.mkdtempSync(path.join(dir, 'upload-'));
      fs.writeFileSync(path.join(where, file.name), file.buffer);
      await (await page.$(selector)).uploadFile(path.join(where, file.name));
    },
  };
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
    // A data: URL asks nothing of any host (Firefox loads one of its own fonts as one).
    if (u.startsWith(origin + '/') || u.startsWith('data:')) return;
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
 * Sets up what an end-to-end test file needs before its first browser: keytool and the drop box
 * built, a staff key per organisation (orgs) made with keytool, and the drop box serving the site
 * built with them (startDropbox's options). Resolves to { tmp, bin, staff (id → keygen's), box,
 * close() }; close stops the drop box and removes the keys and tmp.
 */
export async function stage(name, orgs, options) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-test-`));
  fs.mkdirSync(artifacts, { recursive: true });
  const keyDir = fs.mkdtempSync(path.join(artifacts, 'keys-'));
  let box;
  const close = () => {
    box?.proc.kill();
    fs.rmSync(keyDir, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const bin = buildTools(tmp);
    const staff = Object.fromEntries(orgs.map((id) => [id, keygen(bin, keyDir, `${name}-${id}`)]));
    box = await startDropbox(bin, tmp, name, Object.fromEntries(orgs.map((id) => [id, [staff[id].pub]])), options);
    return { tmp, bin, staff, box, close };
  } catch (err) {
    close();
    throw err;
  }
}

/**
 * Fills a complaint form from its form.json: every choice that reveals a question chooses so,
 * texts in several scripts, the attachment in every file field. Returns the fields as the case
 * folder must hold them. page is a Playwright page, or firefoxForm's for a puppeteer one.
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

/**
 * Times, in the page, the form's own bundled encryption (encryptTo of js/form.js) of that many
 * random bytes to the form's staff keys, in milliseconds. The bytes are made before the clock
 * starts. For the benchmarks; page is a Playwright or a puppeteer page.
 */
export function timeEncryption(page, bytes) {
  return page.evaluate(async (n) => {
    const src = document.querySelector('script[src*="/js/form."]').src;
    const { encryptTo } = await import(src);
    const data = new Uint8Array(n);
    for (let off = 0; off < n; off += 65536) crypto.getRandomValues(data.subarray(off, off + 65536));
    const keys = JSON.parse(document.querySelector('form').dataset.keys);
    const t0 = performance.now();
    const out = await encryptTo(data, keys);
    const ms = performance.now() - t0;
    if (out.length < n) throw new Error('short ciphertext');
    return ms;
  }, bytes);
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
