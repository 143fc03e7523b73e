// Shared by the browser tests: a tiny static server for site/public that sends the CSP the
// drop box sends, and Debian's chromium driven by playwright-core. Not a test file itself.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
