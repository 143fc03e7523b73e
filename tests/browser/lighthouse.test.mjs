// Lighthouse (issue 14, "Page quality, measured") on a procedure page, a form page in a
// right-to-left language and an answers page, served by the real drop box binary with its own
// headers (best practices reads them), in Debian's chromium: accessibility, best practices and SEO
// must each score 100. Performance is left out: the weight tests and docs/benchmarks.md measure it.
// On failure every audit that cost points is listed with what it names on the page. Each page's
// scores are printed, and its HTML report kept in test-artifacts/ (docs/benchmarks.md, "Lighthouse").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import lighthouse from 'lighthouse';
import * as chromeLauncher from 'chrome-launcher';
import { artifacts, buildTools, keygen, startDropbox } from './lib.mjs';

const PAGES = ['/de/procedures/kok-complaints/', '/ar/forms/mk-act-complaints/', '/en/answers/kok/'];
const CATEGORIES = ['accessibility', 'best-practices', 'seo'];
const ORGS = ['kok', 'mk-act', 'kinderrechtencoalitie'];

let tmp, keyDir, box, chrome;

// The drop box refuses to start while an organisation has no staff key, and a form page without
// keys says it cannot be used yet: so each organisation gets one, as in real use.
before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lighthouse-test-'));
  fs.mkdirSync(artifacts, { recursive: true });
  keyDir = fs.mkdtempSync(path.join(artifacts, 'keys-'));
  const bin = buildTools(tmp);
  const pubs = Object.fromEntries(ORGS.map((id) => [id, [keygen(bin, keyDir, `lighthouse-${id}`).pub]]));
  box = await startDropbox(bin, tmp, 'lighthouse', pubs, { answers: true });
  // One chromium for every page: Lighthouse opens a tab of its own in it for each run.
  chrome = await chromeLauncher.launch({
    chromePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    userDataDir: fs.mkdtempSync(path.join(tmp, 'chromium-')),
    chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    logLevel: 'silent',
  });
});

after(async () => {
  chrome?.kill();
  box?.proc.kill();
  if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** What an audit's details name on the page, one line each: elements, URLs, messages. */
function itemsOf(audit) {
  const items = audit.details?.items ?? [];
  return items.map((item) => {
    const node = item.node ?? Object.values(item).find((v) => v?.type === 'node');
    if (node) return [node.selector, node.snippet, node.explanation?.replace(/\s*\n\s*/g, ' | ')].filter(Boolean).join(' ');
    const parts = Object.entries(item)
      .filter(([, v]) => typeof v === 'string' || typeof v === 'number')
      .map(([k, v]) => `${k}: ${v}`);
    for (const v of Object.values(item)) {
      if (v?.type === 'source-location') parts.push(`at ${v.url}:${v.line + 1}:${v.column + 1}`);
      // The Issues panel's entries (inspector-issues) name the requests or elements under each kind.
      if (v?.type === 'subitems') parts.push(...v.items.map((sub) => `(${sub.url ?? JSON.stringify(sub)})`));
    }
    return parts.join(', ') || JSON.stringify(item).slice(0, 300);
  });
}

/** Every audit that cost a category points: id, title, score, and what it names. */
function failing(lhr) {
  const lines = [];
  for (const id of CATEGORIES) {
    for (const ref of lhr.categories[id].auditRefs) {
      const audit = lhr.audits[ref.id];
      if (ref.weight === 0 || audit.score === null || audit.score === 1) continue;
      lines.push(`${id} / ${audit.id}: ${audit.title} (score ${audit.score})`);
      if (audit.explanation) lines.push(`    ${audit.explanation}`);
      if (audit.errorMessage) lines.push(`    error: ${audit.errorMessage}`);
      lines.push(...itemsOf(audit).map((item) => `    ${item}`));
    }
  }
  return lines;
}

for (const page of PAGES) {
  test(`Lighthouse ${page}: accessibility, best practices and SEO 100`, async (t) => {
    const started = performance.now();
    const result = await lighthouse(box.origin + page, {
      port: chrome.port,
      onlyCategories: CATEGORIES,
      output: 'html',
      logLevel: 'error',
      locale: 'en-US',
      disableFullPageScreenshot: true,
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const { lhr } = result;
    fs.writeFileSync(path.join(artifacts, `lighthouse${page.replaceAll('/', '-').replace(/-$/, '')}.html`), result.report);
    assert.equal(lhr.runtimeError, undefined, `${page}: ${lhr.runtimeError?.message}`);
    assert.equal(lhr.finalDisplayedUrl, box.origin + page, 'the page redirected');
    const scores = CATEGORIES.map((id) => `${id} ${Math.round(lhr.categories[id].score * 100)}`);
    t.diagnostic(`${page}: ${scores.join(', ')} (Lighthouse ${lhr.lighthouseVersion}, ${seconds} s)`);
    const below = CATEGORIES.filter((id) => lhr.categories[id].score !== 1);
    assert.deepEqual(below, [], `${page}: below 100 in ${below.join(', ')}:\n${failing(lhr).join('\n')}`);
  });
}
