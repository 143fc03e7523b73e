// The complaint form, encrypted on the person's own device (docs/forms.md).
//
// The page works without this script: the form then posts to the drop box, which encrypts on
// arrival. When this script runs, it builds the format-v1 plaintext (docs/format.md) from the
// form, encrypts it with OpenPGP.js to every staff key in the form's data-keys, and uploads only the
// ciphertext. It stores nothing in the browser: no cookies, no Web Storage, no IndexedDB.
//
// Each complaint gets a new codename (docs/answers.md, "The codename on the receipt"): drawn
// and stretched here, its followup value put inside the encryption, shown on the receipt. The
// codename itself never leaves the device.
import { readKey, createMessage, encrypt } from 'openpgp/lightweight';
import { newCodename, group, deriveKeys, followupFirst } from './codename.js';

const MAGIC = 'complaint-submission/1\n';
// The format's limits (docs/format.md): checked here, before encrypting, because the server
// cannot look inside the ciphertext and staff would find a submission they cannot read.
const MAX_HEADER = 1 << 20;
const MAX_ANSWER = 256 << 10; // bytes of UTF-8 in one answer, the drop box's maxFieldBytes
const MAX_ATTACHMENTS = 100;
const MAX_NAME_BYTES = 255;

const form = document.querySelector('form[data-encrypt]');
if (form && globalThis.crypto && crypto.subtle) {
  start(form);
}

function start(form) {
  const ui = {
    mode: form.querySelector('[data-mode]'),
    status: document.getElementById('form-status'),
    progress: document.getElementById('form-progress'),
    retry: document.getElementById('form-retry'),
    receipt: document.getElementById('receipt'),
    receiptId: document.getElementById('receipt-id'),
    codename: document.getElementById('codename'),
    codenameBlock: document.getElementById('codename-block'),
    codenameMissing: document.getElementById('codename-missing'),
    send: form.querySelector('[type=submit]'),
  };
  const msg = (key) => form.dataset['msg' + key[0].toUpperCase() + key.slice(1)] || key;
  const maxBytes = Number(form.dataset.maxBytes);

  // Say which way the form will go: this script is running, so on this device.
  form.classList.add('encrypts-here');
  const fields = [...form.querySelectorAll('[data-field]')];
  const whenFields = fields.filter((f) => f.dataset.whenField);
  const updateWhen = () => {
    for (const f of whenFields) {
      f.hidden = value(form, f.dataset.whenField) !== f.dataset.whenValue;
      // A hidden question is not asked: it must not block sending, and is not sent.
      for (const input of f.querySelectorAll('input, textarea')) input.disabled = f.hidden;
    }
  };
  form.addEventListener('change', (event) => {
    updateWhen();
    if (event.target.type === 'file') checkSize();
  });
  updateWhen();

  const files = () => [...form.querySelectorAll('input[type=file]')].flatMap((i) => [...i.files]);
  const checkSize = () => {
    const chosen = files();
    const total = chosen.reduce((n, f) => n + f.size, 0);
    if (total > maxBytes || chosen.length > MAX_ATTACHMENTS) {
      show('error', msg('tooLarge'));
      return false;
    }
    show('', '');
    return true;
  };

  // Kept in memory only, for a retry after a lost connection: the ciphertext and the codename
  // whose followup value is inside it, so that the receipt shows the codename that arrived.
  let sending = null;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!form.reportValidity() || !checkSize()) return;
    ui.send.disabled = true;
    ui.retry.hidden = true;
    try {
      if (!sending) {
        show('busy', msg('encrypting')); // the codename's stretching: about 0.1 s, longer on a slow phone
        const drawn = await drawCodename(form.dataset.org);
        show('busy', msg('reading'));
        const plaintext = await buildPlaintext(form, fields, files(), drawn && drawn.followup);
        show('busy', msg('encrypting'));
        try {
          const ciphertext = await encryptTo(plaintext, JSON.parse(form.dataset.keys));
          sending = { ciphertext, codename: drawn && drawn.digits };
        } finally {
          plaintext.fill(0);
        }
      }
      const id = await upload(sending.ciphertext);
      const { codename } = sending;
      sending = null;
      showReceipt(id, codename);
    } catch (err) {
      console.error(err); // stays on this device: helps someone helping the person
      ui.send.disabled = false;
      if (err.kind === 'network') {
        show('error', msg('network'));
        ui.retry.hidden = false;
      } else if (err.kind === 'answerTooLong') {
        // A function, so that "$&" or "$'" in a label is not read as a replacement pattern.
        show('error', msg('answerTooLong').replace('{label}', () => err.field.dataset.label));
        err.field.querySelector('input, textarea').focus();
      } else {
        show('error', err.kind ? msg(err.kind) : msg('failed'));
        sending = null; // a new try is a new complaint, with a new codename
      }
    }
  });
  ui.retry.addEventListener('click', () => form.requestSubmit());

  function show(state, text) {
    ui.status.textContent = text;
    ui.status.dataset.state = state;
    ui.progress.hidden = state !== 'busy';
    if (state !== 'busy') ui.progress.removeAttribute('value');
  }

  // upload posts the ciphertext and resolves to the receipt id.
  function upload(body) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', form.dataset.endpoint);
      xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      xhr.responseType = 'json';
      xhr.upload.onprogress = (e) => {
        if (!e.lengthComputable) return;
        ui.progress.max = e.total;
        ui.progress.value = e.loaded;
        show('busy', msg('uploading').replace('{percent}', Math.floor((100 * e.loaded) / e.total)));
        ui.progress.value = e.loaded;
      };
      xhr.onerror = () => reject(Object.assign(new Error('network'), { kind: 'network' }));
      xhr.onload = () => {
        if (xhr.status === 201 && xhr.response && /^[0-9a-f]{32}$/.test(xhr.response.id)) {
          resolve(xhr.response.id);
          return;
        }
        const kind = { 413: 'tooLarge', 503: 'busy', 507: 'full' }[xhr.status] || 'refused';
        reject(Object.assign(new Error(kind), { kind }));
      };
      xhr.send(new Blob([body], { type: 'application/octet-stream' }));
    });
  }

  function showReceipt(id, codename) {
    form.reset();
    form.hidden = true;
    ui.receiptId.textContent = id;
    if (codename) {
      ui.codename.textContent = group(codename);
    } else {
      ui.codenameBlock.hidden = true;
      ui.codenameMissing.hidden = false;
    }
    ui.receipt.hidden = false;
    ui.receipt.focus();
  }
}

// drawCodename draws a new codename and derives its followup value at the organisation:
// {digits, followup}, or null when this browser cannot stretch it (an old one without PBKDF2 in
// WebCrypto): the complaint is then sent without one, and the receipt says so. What is derived
// besides the followup value (K, the token) is dropped here; JavaScript strings cannot be
// overwritten, so dropping them is all a page can do.
async function drawCodename(org) {
  try {
    const digits = newCodename();
    const keys = await deriveKeys(digits, org);
    return { digits, followup: followupFirst(keys, org) };
  } catch (err) {
    console.error(err); // stays on this device
    return null;
  }
}

// value is the answer to a field as the server would read it from the same form: the checked
// option of a choice, or the trimmed text.
function value(form, name) {
  const checked = form.querySelector(`input[type=radio][name="${CSS.escape(name)}"]:checked`);
  if (checked) return checked.value;
  const el = form.querySelector(`input[type=text][name="${CSS.escape(name)}"], textarea[name="${CSS.escape(name)}"]`);
  return el && !el.disabled ? el.value.trim() : '';
}

// shortName keeps a file name within the format's 255 bytes of UTF-8, keeping its extension,
// as the server does for forms sent without JavaScript.
function shortName(name) {
  const enc = new TextEncoder();
  if (enc.encode(name).length <= MAX_NAME_BYTES) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 17 ? name.slice(dot) : '';
  let stem = [...name.slice(0, name.length - ext.length)];
  while (enc.encode(stem.join('') + ext).length > MAX_NAME_BYTES) stem.pop();
  return stem.join('') + ext;
}

// buildPlaintext writes the format-v1 plaintext: magic, header line, then the attachments.
// followup, when given, is the header's last key (a codename's followup value).
async function buildPlaintext(form, fields, files, followup) {
  const header = { procedure: form.dataset.procedure, lang: form.dataset.lang, fields: [], attachments: [] };
  for (const f of fields) {
    const { name, type, label } = f.dataset;
    if (type === 'files') continue;
    if (f.dataset.whenField && value(form, f.dataset.whenField) !== f.dataset.whenValue) continue;
    let answer = value(form, name);
    if (type === 'choice' && answer) {
      const option = f.querySelector(`input[value="${CSS.escape(answer)}"]`);
      answer = option ? option.dataset.label : answer;
    }
    if (new TextEncoder().encode(answer).length > MAX_ANSWER) {
      throw Object.assign(new Error('answer too long'), { kind: 'answerTooLong', field: f });
    }
    header.fields.push({ name, label, value: answer });
  }
  const bodies = [];
  for (const file of files) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    header.attachments.push({
      name: shortName(file.name),
      type: file.type || 'application/octet-stream', // what a browser sends without JavaScript
      size: bytes.length,
      sha256: [...digest].map((b) => b.toString(16).padStart(2, '0')).join(''),
    });
    bodies.push(bytes);
  }
  if (followup) header.followup = followup;
  const head = new TextEncoder().encode(MAGIC + JSON.stringify(header) + '\n');
  if (head.length - MAGIC.length > MAX_HEADER) {
    bodies.forEach((b) => b.fill(0));
    throw Object.assign(new Error('answers too long'), { kind: 'answersTooLong' });
  }
  const out = new Uint8Array(head.length + bodies.reduce((n, b) => n + b.length, 0));
  out.set(head, 0);
  let offset = head.length;
  for (const b of bodies) {
    out.set(b, offset);
    offset += b.length;
    b.fill(0);
  }
  return out;
}

// encryptTo encrypts to every key in the armored text (the staff keys the page was built with):
// binary output, no compression, no file name, time zero (nothing about the sender's clock).
async function encryptTo(plaintext, armored) {
  const blocks = armored.split(/(?=-----BEGIN PGP PUBLIC KEY BLOCK-----)/).filter((b) => b.includes('BEGIN'));
  const encryptionKeys = await Promise.all(blocks.map((armoredKey) => readKey({ armoredKey })));
  const message = await createMessage({ binary: plaintext, format: 'binary', date: new Date(0) });
  return encrypt({ message, encryptionKeys, format: 'binary', config: { preferredCompressionAlgorithm: 0 } });
}

// For scripts/bench-form.mjs, which times the bundled code in the browser.
export { buildPlaintext, encryptTo };
