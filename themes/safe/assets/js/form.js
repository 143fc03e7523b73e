// The complaint form, encrypted on the person's own device (docs/forms.md).
//
// The page works without this script: the form then posts to the drop box, which encrypts on
// arrival. When this script runs, it builds the format-v1 plaintext (docs/format.md) from the
// form, encrypts it with OpenPGP.js to every staff key in the form's data-keys, and uploads only the
// ciphertext (submission.js, which the answers page's follow-up uses too). It stores nothing in
// the browser: no cookies, no Web Storage, no IndexedDB.
//
// Each complaint gets a new codename (docs/answers.md, "The codename on the receipt"): drawn
// and stretched here, its followup value put inside the encryption, shown on the receipt. The
// codename itself never leaves the device.
import { newCodename, group, deriveKeys, followupFirst } from './codename.js';
import { buildSubmission, encryptTo, upload, MAX_ATTACHMENTS } from './submission.js';

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
    if (event.target.type === 'file') {
      checkSize();
      checkPhotos(event.target);
    }
  });
  updateWhen();

  // Hidden details in photos (docs/forms.md): js/hidden-details.js reads each chosen file and asks
  // whether to remove where a photo was taken, the phone and a name. Until the person answers,
  // the form is not sent. Without that module (it did not load), the form is sent as it is.
  const photos = new Map(); // file field → its question, once its files are read
  const checkPhotos = (input) => {
    const box = document.getElementById(`${input.id}-photos`);
    if (!box) return;
    photos.set(input, hiddenDetails(form.dataset.photos, form.dataset.photosIntegrity)
      .then((m) => m.offer(input, box, msg, form.dataset.lang, () => {
        ciphertext = null;
        if (ui.status.textContent === msg('photosChoose')) show('', '');
      }))
      .catch((err) => console.error(err))); // stays on this device
  };
  const unanswered = async () => (await Promise.all(photos.values())).find((q) => q && q.open());

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

  // Kept in memory only until a receipt is shown. The codename is drawn once for this page: every
  // try sends the same one, so the receipt always shows the codename inside what arrived, even
  // when an earlier try was stored but its answer lost. The ciphertext is kept for a retry of
  // the same bytes, and dropped when the person changes the form, so that what they send is what
  // the form shows.
  let drawn;
  let ciphertext = null;
  form.addEventListener('input', () => { ciphertext = null; });
  form.addEventListener('change', () => { ciphertext = null; });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!form.reportValidity() || !checkSize()) return;
    ui.send.disabled = true; // before waiting for the photos to be read: one click, one complaint
    const question = await unanswered();
    if (question) {
      ui.send.disabled = false;
      show('error', msg('photosChoose'));
      question.focus();
      return;
    }
    ui.retry.hidden = true;
    try {
      if (drawn === undefined) {
        show('busy', msg('encrypting')); // the codename's stretching: about 0.1 s, longer on a slow phone
        drawn = await drawCodename(form.dataset.org);
      }
      if (!ciphertext) {
        show('busy', msg('reading'));
        const plaintext = await buildPlaintext(form, fields, files(), drawn && drawn.followup);
        show('busy', msg('encrypting'));
        try {
          ciphertext = await encryptTo(plaintext, JSON.parse(form.dataset.keys));
        } finally {
          plaintext.fill(0);
        }
      }
      const id = await upload(form.dataset.endpoint, ciphertext, (loaded, total) => {
        show('busy', msg('uploading').replace('{percent}', Math.floor((100 * loaded) / total)));
        ui.progress.max = total;
        ui.progress.value = loaded;
      });
      const codename = drawn && drawn.digits;
      drawn = undefined;
      ciphertext = null;
      showReceipt(id, codename);
    } catch (err) {
      console.error(err); // stays on this device: helps someone helping the person
      ui.send.disabled = false;
      if (err.kind === 'network') {
        show('error', msg('network'));
        ui.retry.hidden = false;
      } else if (err.kind === 'answerTooLong') {
        const field = fields.find((f) => f.dataset.name === err.name);
        // A function, so that "$&" or "$'" in a label is not read as a replacement pattern.
        show('error', msg('answerTooLong').replace('{label}', () => field.dataset.label));
        field.querySelector('input, textarea').focus();
      } else {
        show('error', err.kind ? msg(err.kind) : msg('failed'));
        // Busy or full: nothing was kept, and the same bytes may go later. Refused or failed:
        // encrypt again next time (the codename stays the same).
        if (err.kind !== 'busy' && err.kind !== 'full') ciphertext = null;
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

// hiddenDetails loads js/hidden-details.js once, when the first file is chosen, so that the
// form's first load does not carry it. import() takes no integrity; a modulepreload link does,
// and import() then takes the module that link fetched and checked, or fails with it.
let photoModule;
function hiddenDetails(url, integrity) {
  photoModule ??= new Promise((resolve, reject) => {
    const link = Object.assign(document.createElement('link'), { rel: 'modulepreload', href: url, integrity });
    if (!link.relList.supports('modulepreload')) return resolve(import(url));
    link.onload = () => resolve(import(url));
    link.onerror = () => reject(new Error(`${url} did not load`));
    return document.head.append(link);
  });
  return photoModule;
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

// buildPlaintext writes the format-v1 plaintext of the form: its fields as the server would read
// them from the same form, the files, and followup (a codename's followup value), when given,
// as the header's last key.
async function buildPlaintext(form, fields, files, followup) {
  const header = { procedure: form.dataset.procedure, lang: form.dataset.lang, fields: [] };
  for (const f of fields) {
    const { name, type, label } = f.dataset;
    if (type === 'files') continue;
    if (f.dataset.whenField && value(form, f.dataset.whenField) !== f.dataset.whenValue) continue;
    let answer = value(form, name);
    if (type === 'choice' && answer) {
      const option = f.querySelector(`input[value="${CSS.escape(answer)}"]`);
      answer = option ? option.dataset.label : answer;
    }
    header.fields.push({ name, label, value: answer });
  }
  if (followup) header.followup = followup;
  return buildSubmission(header, files);
}

// For scripts/bench-form.mjs, which times the bundled code in the browser.
export { buildPlaintext, encryptTo };
