// The answers page (docs/answers.md, "The answers page"), on the person's own device.
//
// The page works without this script: its form then posts the codename to the drop box, which
// answers with result.html. When this script runs, the codename never leaves the device: it is
// checked here (a typo is caught by the check digit, with no request), stretched into the
// mailbox's token, the answers' passphrase and the case (codename.js), and only the token is
// sent, to read and to delete. Each answer is decrypted here with OpenPGP.js and read by
// answer.js; what the person writes more is encrypted here to the organisation's staff keys and
// sent as a submission (submission.js). Nothing is stored in the browser: no cookies, no Web
// Storage, no IndexedDB; a reload forgets everything.
import { decrypt, readMessage } from 'openpgp/lightweight';
import { parseCodename, deriveKeys, followupLater } from './codename.js';
import { readAnswer } from './answer.js';
import { buildSubmission, encryptTo, upload, MAX_ATTACHMENTS } from './submission.js';

const form = document.getElementById('answers-open');
if (form && globalThis.crypto && crypto.subtle) {
  start(form);
}

function start(form) {
  const byId = (id) => document.getElementById(id);
  const ui = {
    input: byId('codename'),
    open: form.querySelector('[type=submit]'),
    retry: byId('answers-retry'),
    status: byId('answers-status'),
    list: byId('answers-list'),
    items: byId('answers-items'),
    more: byId('answers-more'),
    moreText: byId('answers-more-text'),
    moreFiles: byId('answers-more-files'),
    moreSend: byId('answers-more').querySelector('[type=submit]'),
    moreStatus: byId('answers-more-status'),
    progress: byId('answers-progress'),
    forget: byId('answers-forget'),
  };
  const data = form.dataset;
  // A message of the page, its {placeholders} filled in one pass: a file name holding "{size}"
  // stays as it is.
  const msg = (key, values = {}) => (data['msg' + key[0].toUpperCase() + key.slice(1)] || key)
    .replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
  const show = (el, state, text) => {
    el.textContent = text;
    el.dataset.state = state;
  };

  // Say which way the page works: this script is running, so on this device.
  form.classList.add('opens-here');

  let kept = null; // the codename's values, in memory only, while a read can be tried again
  let mailbox = null; // {token, followup} once a mailbox was read: to delete and to write more
  const blobs = new Map(); // article -> its blob: URLs

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const parsed = parseCodename(ui.input.value);
    if (parsed.error) {
      show(ui.status, 'error', parsed.error === 'character'
        ? msg('char', { pos: parsed.position, char: parsed.char })
        : parsed.error === 'length' ? msg('length', { count: parsed.count }) : msg('check'));
      ui.input.focus();
      return;
    }
    ui.open.disabled = true;
    show(ui.status, 'busy', msg('opening'));
    try {
      kept = await deriveKeys(parsed.digits, data.org);
    } catch (err) {
      console.error(err); // stays on this device
      ui.open.disabled = false;
      show(ui.status, 'error', msg('failed'));
      return;
    }
    ui.input.value = '';
    await readMailbox();
  });
  ui.retry.addEventListener('click', readMailbox);

  async function readMailbox() {
    ui.open.disabled = true;
    ui.retry.hidden = true;
    show(ui.status, 'busy', msg('opening'));
    let answers;
    try {
      const reply = await post(data.read, { token: kept.token });
      if (!reply || !Array.isArray(reply.answers)) throw Object.assign(new Error('not a list of answers'), { kind: 'failed' });
      answers = reply.answers;
    } catch (err) {
      console.error(err);
      show(ui.status, 'error', msg(err.kind || 'failed'));
      ui.retry.hidden = false;
      ui.open.disabled = false;
      return;
    }
    const opened = [];
    let broken = 0;
    for (const a of answers) {
      try {
        if (!/^[0-9a-f]{32}$/.test(a.id) || !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(a.day) || typeof a.data !== 'string') {
          throw new Error('not an answer the drop box sends');
        }
        opened.push({ id: a.id, day: a.day, answer: await openAnswer(a.data, kept.answer_pass) });
      } catch (err) {
        console.warn(err); // what is wrong with it, for someone helping the person; counted below
        broken++;
      }
    }
    mailbox = { token: kept.token, followup: followupLater(kept) };
    kept = null; // the passphrase is no longer needed
    form.hidden = true;
    show(ui.status, '', '');
    render(opened, broken);
  }

  function render(opened, broken) {
    if (broken) ui.items.before(paragraph('notice warn', msg('broken', { count: broken })));
    for (const { id, day, answer } of opened) ui.items.append(article(id, day, answer));
    if (!opened.length && !broken) ui.items.append(paragraph('answers-none', msg('none')));
    ui.list.hidden = false;
    ui.more.hidden = false;
    ui.forget.hidden = false;
    ui.list.focus();
  }

  // day is the day the answer arrived on the drop box (the mailbox route's), as the page
  // without JavaScript shows it (docs/answers.md, `.Day`).
  function article(id, day, answer) {
    const el = document.createElement('article');
    el.className = 'answer';
    const heading = document.createElement('h3');
    heading.textContent = msg('from', { day });
    const text = document.createElement('pre');
    text.className = 'answer-text';
    text.lang = answer.lang;
    text.dir = 'auto';
    text.textContent = answer.text; // plain text, never markup
    el.append(heading, text);
    const urls = [];
    if (answer.attachments.length) {
      const list = document.createElement('ul');
      list.className = 'answer-files';
      for (const f of answer.attachments) {
        // Always a download, never shown as a page of this site: the type the answer names
        // is not used.
        const url = URL.createObjectURL(new Blob([f.bytes], { type: 'application/octet-stream' }));
        urls.push(url);
        const a = document.createElement('a');
        a.href = url;
        a.download = f.name;
        a.textContent = msg('save', { name: f.name, size: formatSize(f.size) });
        const li = document.createElement('li');
        li.append(a);
        list.append(li);
      }
      el.append(paragraph('answer-files-heading', msg('files')), list);
    }
    const del = document.createElement('button');
    del.type = 'button';
    del.className = 'button secondary delete';
    del.textContent = msg('delete');
    del.addEventListener('click', () => remove(id, el, del));
    el.append(del);
    blobs.set(el, urls);
    return el;
  }

  async function remove(id, el, button) {
    button.disabled = true;
    show(ui.status, 'busy', '');
    try {
      const reply = await post(data.delete, { token: mailbox.token, id });
      if (!reply || typeof reply.deleted !== 'boolean') throw Object.assign(new Error('not a deletion'), { kind: 'failed' });
    } catch (err) {
      console.error(err);
      button.disabled = false;
      show(ui.status, 'error', msg(err.kind || 'failed'));
      return;
    }
    // deleted: false means it was gone already (deleted elsewhere, or expired): gone all the same.
    for (const url of blobs.get(el) || []) URL.revokeObjectURL(url);
    blobs.delete(el);
    el.remove();
    if (!ui.items.querySelector('article')) ui.items.append(paragraph('answers-none', msg('none')));
    show(ui.status, '', msg('deleted'));
    ui.list.focus();
  }

  ui.moreFiles.addEventListener('change', checkFiles);
  function checkFiles() {
    const files = [...ui.moreFiles.files];
    if (files.length > MAX_ATTACHMENTS || files.reduce((n, f) => n + f.size, 0) > Number(data.maxBytes)) {
      show(ui.moreStatus, 'error', msg('tooLarge'));
      return false;
    }
    show(ui.moreStatus, '', '');
    return true;
  }

  ui.more.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!ui.more.reportValidity() || !checkFiles()) return;
    if (ui.moreText.value.trim() === '' && ui.moreFiles.files.length === 0) {
      show(ui.moreStatus, 'error', msg('moreEmpty')); // as the drop box refuses it without JavaScript
      return;
    }
    ui.moreSend.disabled = true;
    try {
      show(ui.moreStatus, 'busy', msg('reading'));
      const header = {
        procedure: 'follow-up',
        lang: data.lang,
        fields: [{ name: 'more', label: data.moreLabel, value: ui.moreText.value.trim() }],
        followup: mailbox.followup,
      };
      const plaintext = await buildSubmission(header, [...ui.moreFiles.files]);
      show(ui.moreStatus, 'busy', msg('encrypting'));
      const ciphertext = await encryptTo(plaintext, JSON.parse(data.keys));
      plaintext.fill(0);
      ui.progress.hidden = false;
      const id = await upload(data.submit, ciphertext, (loaded, total) => {
        ui.progress.max = total;
        ui.progress.value = loaded;
        show(ui.moreStatus, 'busy', msg('uploading', { percent: Math.floor((100 * loaded) / total) }));
      });
      ui.more.reset();
      show(ui.moreStatus, 'done', msg('sent', { id }));
    } catch (err) {
      console.error(err);
      // The text cannot pass 256 KiB (the textarea's maxlength), nor the header 1 MiB: those
      // and every other refusal say that nothing was sent.
      const kind = { network: 'network', tooLarge: 'tooLarge', busy: 'busy' }[err.kind] || 'moreFailed';
      show(ui.moreStatus, 'error', msg(kind));
    } finally {
      ui.moreSend.disabled = false;
      ui.progress.hidden = true;
      ui.progress.removeAttribute('value');
    }
  });

  ui.forget.addEventListener('click', () => {
    ui.input.value = '';
    location.reload();
  });
}

// post sends a JSON body to one of the drop box's mailbox routes and returns its JSON answer.
// The token travels only in the body.
async function post(url, body) {
  let res;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (err) {
    throw Object.assign(err, { kind: 'network' });
  }
  if (res.status === 429 || res.status === 503) throw Object.assign(new Error(`status ${res.status}`), { kind: 'busy' });
  if (!res.ok) throw Object.assign(new Error(`status ${res.status}`), { kind: 'failed' });
  return res.json();
}

// openAnswer decrypts one answer with the codename's passphrase and reads it. OpenPGP.js
// reports an error at any point, the end included, and the whole answer is then thrown away.
async function openAnswer(base64, password) {
  const message = await readMessage({ binaryMessage: fromBase64(base64) });
  const { data } = await decrypt({ message, passwords: [password], format: 'binary' });
  return readAnswer(data);
}

function fromBase64(s) {
  if (Uint8Array.fromBase64) return Uint8Array.fromBase64(s);
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function paragraph(className, text) {
  const p = document.createElement('p');
  p.className = className;
  p.textContent = text;
  return p;
}

// formatSize writes a size as the drop box's page without JavaScript does (decimalSize in
// dropbox/answerspage.go): "512 B", "34 kB", "1.2 MB".
function formatSize(n) {
  if (n < 1000) return `${n} B`;
  let v = n / 1000;
  let unit = 'kB';
  for (const u of ['MB', 'GB']) {
    if (v < 999.5) break;
    v /= 1000;
    unit = u;
  }
  return `${v.toFixed(v < 9.95 ? 1 : 0)} ${unit}`;
}
