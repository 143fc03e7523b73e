// Every page in de, ar and zh, in Debian's chromium under CSP default-src 'self':
// axe-core finds no WCAG 2.2 AA violation, nothing is loaded from another host, nothing breaks
// the CSP, no cookie or storage is written. Also keeps 360 px screenshots as test artefacts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, launch, pagesOf, watch, repo, artifacts } from './lib.mjs';

const LANGS = ['de', 'ar', 'zh'];
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
const axeSource = fs.readFileSync(path.join(repo, 'node_modules/axe-core/axe.min.js'), 'utf8');

let server, origin, browser, context;

before(async () => {
  ({ server, origin } = await startServer());
  browser = await launch();
  // No bypassCSP: axe is evaluated through the DevTools protocol, which the page's CSP does not
  // govern, so the CSP stays enforced for everything the page itself does.
  context = await browser.newContext({ viewport: { width: 1024, height: 800 } });
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
    });
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

function formatViolations(violations) {
  return violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n` +
    v.nodes.slice(0, 5).map((n) => `    ${n.target.join(' ')}: ${n.failureSummary?.split('\n').join(' ')}`).join('\n'))
    .join('\n  ');
}

for (const lang of LANGS) {
  test(`every ${lang} page: axe WCAG 2.2 AA, CSP, no other host, no storage`, async () => {
    // result.html of an answers page is a template the drop box fills in ([[ ]] in place of its
    // lists and languages): answers.test.mjs checks it filled in, as people get it.
    const paths = pagesOf(lang).filter((p) => !p.endsWith('/result.html'));
    assert.ok(paths.length >= 10, `only ${paths.length} pages in /${lang}/`);
    const failures = [];
    for (const p of paths) {
      const page = await context.newPage();
      const problems = watch(page, origin);
      const res = await page.goto(origin + p, { waitUntil: 'load' });
      if (!p.endsWith('404.html')) assert.equal(res.status(), 200, p);
      const dir = await page.evaluate(() => document.documentElement.dir);
      assert.equal(dir, lang === 'ar' ? 'rtl' : 'ltr', `${p}: dir`);
      await page.evaluate(axeSource);
      const result = await page.evaluate((tags) => window.axe.run(document, {
        runOnly: { type: 'tag', values: tags },
        resultTypes: ['violations'],
      }), TAGS);
      if (result.violations.length) failures.push(`${p}:\n  ${formatViolations(result.violations)}`);
      const csp = await page.evaluate(() => window.__cspViolations);
      problems.push(...csp.map((c) => `CSP violation: ${c}`));
      const stored = await page.evaluate(() => localStorage.length + sessionStorage.length + document.cookie.length);
      if (stored) problems.push('wrote cookies or storage');
      if (problems.length) failures.push(`${p}:\n  ${problems.join('\n  ')}`);
      await page.close();
    }
    const cookies = await context.cookies();
    assert.deepEqual(cookies, [], 'the site set cookies');
    assert.deepEqual(failures, [], failures.join('\n'));
  });
}

test('the root page lists every language without JavaScript and passes axe', async () => {
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  const problems = watch(page, origin);
  await page.goto(origin + '/');
  const links = await page.$$eval('main a[hreflang]', (as) => as.map((a) => a.getAttribute('href')));
  assert.equal(links.length, 12);
  await ctx.close();
  const page2 = await context.newPage();
  problems.push(...watch(page2, origin));
  await page2.goto(origin + '/');
  await page2.evaluate(axeSource);
  const result = await page2.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }), TAGS);
  assert.deepEqual(result.violations.map((v) => v.id), [], formatViolations(result.violations));
  assert.deepEqual(problems, []);
  await page2.close();
});

test('screenshots at 360 px of a procedure page in ar and de', async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 1 });
  for (const lang of ['ar', 'de']) {
    const page = await ctx.newPage();
    const problems = watch(page, origin);
    await page.goto(`${origin}/${lang}/procedures/kok-complaints/`);
    // Readable at 360 px: nothing wider than the screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${lang}: the page is ${overflow}px wider than 360 px`);
    const file = path.join(artifacts, `kok-complaints-${lang}-360.png`);
    await page.screenshot({ path: file, fullPage: true });
    assert.ok(fs.statSync(file).size > 1000);
    assert.deepEqual(problems, []);
    await page.close();
  }
  await ctx.close();
});
