// The quick exit: first in keyboard order; with JavaScript it replaces the history entry and
// leaves (click, or Escape twice); without JavaScript it is a plain link. The neutral site is
// answered locally by the test, so nothing leaves the machine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, watch } from './lib.mjs';

const EXIT = 'https://www.wikipedia.org/';
let server, origin, browser;

before(async () => {
  ({ server, origin } = await startServer());
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
});

async function newContext(options = {}) {
  const ctx = await browser.newContext(options);
  await ctx.route(`${EXIT}**`, (route) => route.fulfill({ contentType: 'text/html', body: '<title>neutral</title>' }));
  return ctx;
}

test('Tab reaches the quick exit first, on every kind of page', async () => {
  const ctx = await newContext();
  const page = await ctx.newPage();
  for (const p of ['/', '/de/', '/ar/procedures/kok-complaints/', '/zh/procedures/joint-routine-template/', '/en/privacy/']) {
    await page.goto(origin + p);
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement?.id);
    assert.equal(id, 'quick-exit', p);
    assert.ok(await page.isVisible('#quick-exit'), `${p}: quick exit not visible`);
  }
  await ctx.close();
});

for (const how of ['click', 'Escape twice']) {
  test(`quick exit by ${how} leaves and takes the page out of the history`, async () => {
    const ctx = await newContext();
    const page = await ctx.newPage();
    const problems = watch(page, origin, { allow: [EXIT] });
    await page.goto(`${origin}/de/`);
    await page.goto(`${origin}/de/procedures/kok-complaints/`);
    if (how === 'click') {
      await Promise.all([page.waitForURL(EXIT), page.click('#quick-exit')]);
    } else {
      await page.keyboard.press('Escape');
      await Promise.all([page.waitForURL(EXIT), page.keyboard.press('Escape')]);
    }
    assert.equal(page.url(), EXIT);
    // location.replace: going back skips the page that was open.
    await page.goBack();
    assert.equal(page.url(), `${origin}/de/`);
    assert.deepEqual(problems, []);
    await ctx.close();
  });
}

test('one Escape does nothing', async () => {
  const ctx = await newContext();
  const page = await ctx.newPage();
  await page.goto(`${origin}/en/procedures/kok-complaints/`);
  await page.keyboard.press('Escape');
  await page.waitForTimeout(1200);
  await page.keyboard.press('Escape');
  await page.waitForTimeout(300);
  assert.equal(page.url(), `${origin}/en/procedures/kok-complaints/`);
  await ctx.close();
});

test('without JavaScript: the page reads fully and the quick exit is a plain link', async () => {
  const ctx = await newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  const problems = watch(page, origin, { allow: [EXIT] });
  await page.goto(`${origin}/ar/procedures/mk-act-complaints/`);
  assert.ok(await page.isVisible('h1'));
  assert.ok(await page.isVisible('#send'));
  // The language list is a <details>: it opens without script.
  await page.click('.languages summary');
  assert.ok(await page.isVisible('.languages a[hreflang="de"]'));
  // The help says what the quick exit does here: without a script it cannot touch the back button.
  assert.ok(await page.isVisible('#quick-exit-help .when-nojs'), 'the help without JavaScript');
  assert.ok(!(await page.isVisible('#quick-exit-help .when-js')), 'the help promises what only the script does');
  await Promise.all([page.waitForURL(EXIT), page.click('#quick-exit')]);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('with JavaScript: the quick exit help says it takes the page out of the back button', async () => {
  const ctx = await newContext();
  const page = await ctx.newPage();
  await page.goto(`${origin}/de/procedures/kok-complaints/`);
  await page.waitForFunction(() => document.documentElement.classList.contains('js'));
  assert.ok(await page.isVisible('#quick-exit-help .when-js'), 'the help with JavaScript');
  assert.ok(!(await page.isVisible('#quick-exit-help .when-nojs')), 'the help says JavaScript is off');
  await ctx.close();
});
