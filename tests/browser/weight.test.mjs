// Weight: every procedure page, with everything it loads (stylesheet, script, icon), is at
// most 20 KiB brotli-compressed. Sizes are measured at brotli quality 11 (what a server that
// precompresses sends); the table printed with --test-reporter=spec is what docs/ quote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { publicDir, requireBuiltSite, fileFor } from './lib.mjs';

const LIMIT = 20 * 1024;
const LANGS = ['de', 'en', 'nl', 'sv', 'zh', 'ar', 'fr', 'es', 'ro', 'bg', 'ru', 'uk'];

const brotli = (buf) => zlib.brotliCompressSync(buf, {
  params: {
    [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
    [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length,
  },
}).length;

// What the HTML makes a browser load by itself: stylesheets, icons, scripts, images.
const resourceRe = /<(?:link|script|img|source)\b[^>]*?\s(?:href|src)=(?:"([^"]+)"|'([^']+)'|([^\s>]+))/gi;

function resourcesOf(html) {
  const out = new Set();
  for (const m of html.matchAll(resourceRe)) out.add(m[1] ?? m[2] ?? m[3]);
  return [...out];
}

test('every procedure page with what it loads is at most 20 KiB brotli', () => {
  requireBuiltSite();
  const rows = [];
  const failures = [];
  for (const lang of LANGS) {
    const dir = path.join(publicDir, lang, 'procedures');
    assert.ok(fs.existsSync(dir), `no ${dir}`);
    for (const slug of fs.readdirSync(dir).filter((d) => fs.statSync(path.join(dir, d)).isDirectory())) {
      const file = path.join(dir, slug, 'index.html');
      const html = fs.readFileSync(file);
      let total = brotli(html);
      const parts = [`html ${total}`];
      for (const ref of resourcesOf(html.toString())) {
        assert.ok(ref.startsWith('/') && !ref.startsWith('//'), `${lang}/${slug}: ${ref} is not on this site`);
        const res = fileFor(ref);
        assert.ok(res, `${lang}/${slug}: ${ref} is missing`);
        const size = brotli(fs.readFileSync(res));
        total += size;
        parts.push(`${path.extname(res).slice(1)} ${size}`);
      }
      rows.push({ page: `/${lang}/procedures/${slug}/`, total, parts: parts.join(' + ') });
      if (total > LIMIT) failures.push(`/${lang}/procedures/${slug}/: ${total} bytes > ${LIMIT}`);
    }
  }
  assert.ok(rows.length >= 5 * LANGS.length, `only ${rows.length} procedure pages`);
  rows.sort((a, b) => b.total - a.total);
  const heaviest = rows.slice(0, 5).map((r) => `${r.page} ${r.total} B (${r.parts})`);
  const mean = Math.round(rows.reduce((s, r) => s + r.total, 0) / rows.length);
  console.log(`procedure pages: ${rows.length}, mean ${mean} B, lightest ${rows.at(-1).total} B; heaviest:\n  ${heaviest.join('\n  ')}`);
  assert.deepEqual(failures, []);
});
