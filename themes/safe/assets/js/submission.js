// A submission as the browser writes it (docs/format.md, "The submission format"): the format-v1
// plaintext, its encryption with OpenPGP.js to every staff key of the organisation, and the
// upload of the ciphertext to the drop box. The answers page's follow-up uses it; it holds
// nothing of a page, so the complaint form can use the same functions.
import { readKey, createMessage, encrypt } from 'openpgp/lightweight';

const MAGIC = 'complaint-submission/1\n';
// The format's limits: checked before encrypting, because the server cannot look inside the
// ciphertext and staff would find a submission they cannot read.
const MAX_HEADER = 1 << 20;
export const MAX_VALUE = 256 << 10; // bytes of UTF-8 in one field's value, the drop box's maxFieldBytes
export const MAX_ATTACHMENTS = 100;
const MAX_NAME_BYTES = 255;
const MIN_PADDED = 4 << 10;

/** An Error with a kind the page turns into one of its messages. */
export function failure(kind, more = {}) {
  return Object.assign(new Error(kind), { kind }, more);
}

/** Bytes of UTF-8 of a string. */
export const utf8Length = (s) => new TextEncoder().encode(s).length;

/**
 * A file name within the format's 255 bytes of UTF-8, keeping its extension, as the server
 * shortens it for forms sent without JavaScript.
 */
export function shortName(name) {
  if (utf8Length(name) <= MAX_NAME_BYTES) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 17 ? name.slice(dot) : '';
  const stem = [...name.slice(0, name.length - ext.length)];
  while (utf8Length(stem.join('') + ext) > MAX_NAME_BYTES) stem.pop();
  return stem.join('') + ext;
}

/**
 * The size a plaintext of n bytes is padded to (docs/format.md, "Padding of submissions"), as
 * Go's submission.PaddedSize: at least 4 KiB; above, for n in (2^k, 2^(k+1)], n rounded up to a
 * multiple of 2^(k-3). In whole numbers, so no rounding of Math.log2 can move a size.
 */
export function paddedSize(n) {
  if (n <= MIN_PADDED) return MIN_PADDED;
  let step = 1;
  while (step * 16 < n) step *= 2;
  return Math.ceil(n / step) * step;
}

/**
 * The header's padding count and the plaintext's size: rest is every byte but the count's own
 * digits. The smallest padded size that a count fills exactly, digits included (a rest 11 or
 * 102 bytes short of a size has no such count, and takes the next size), as Go's writer.
 */
function padding(rest) {
  for (let size = paddedSize(rest + 1); ; size = paddedSize(size + 1)) {
    for (let digits = 1; digits <= 16; digits++) {
      const count = size - rest - digits;
      if (count >= 0 && String(count).length === digits) return { count, size };
    }
  }
}

/**
 * The format-v1 plaintext: the magic line, the header (given without attachments: procedure,
 * lang, fields, and followup when there is one) with a line, then the files' bytes, then zero
 * bytes up to a padded size, as many as the header's last key, padding, says. Each file is read
 * here and described in the header with its SHA-256. Throws failure('answerTooLong', {name}) for
 * a field's value over 256 KiB, failure('tooLarge') for more than 100 files, and
 * failure('answersTooLong') for a header over 1 MiB. The files' copies are zeroed once written.
 */
export async function buildSubmission(header, files) {
  for (const f of header.fields) {
    if (utf8Length(f.value) > MAX_VALUE) throw failure('answerTooLong', { name: f.name });
  }
  if (files.length > MAX_ATTACHMENTS) throw failure('tooLarge');
  const attachments = [];
  const bodies = [];
  for (const file of files) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    attachments.push({
      name: shortName(file.name),
      type: file.type || 'application/octet-stream', // what a browser sends without JavaScript
      size: bytes.length,
      sha256: [...digest].map((b) => b.toString(16).padStart(2, '0')).join(''),
    });
    bodies.push(bytes);
  }
  const { procedure, lang, fields, ...more } = header;
  const line = (count) => new TextEncoder().encode(MAGIC + JSON.stringify({ procedure, lang, fields, attachments, encrypted_by: 'browser', ...more, padding: count }) + '\n');
  const pad = padding(line(0).length - 1 + bodies.reduce((n, b) => n + b.length, 0));
  const head = line(pad.count);
  if (head.length - MAGIC.length > MAX_HEADER) {
    bodies.forEach((b) => b.fill(0));
    throw failure('answersTooLong');
  }
  const out = new Uint8Array(pad.size); // zeros: the padding is what the header and files leave
  out.set(head, 0);
  let offset = head.length;
  for (const b of bodies) {
    out.set(b, offset);
    offset += b.length;
    b.fill(0);
  }
  return out;
}

/**
 * Encrypts to every key in the armored text (the staff keys the page was built with): binary
 * output, no compression, no file name, time zero (nothing about the sender's clock).
 */
export async function encryptTo(plaintext, armored) {
  const blocks = armored.split(/(?=-----BEGIN PGP PUBLIC KEY BLOCK-----)/).filter((b) => b.includes('BEGIN'));
  const encryptionKeys = await Promise.all(blocks.map((armoredKey) => readKey({ armoredKey })));
  const message = await createMessage({ binary: plaintext, format: 'binary', date: new Date(0) });
  return encrypt({ message, encryptionKeys, format: 'binary', config: { preferredCompressionAlgorithm: 0 } });
}

/**
 * Posts the ciphertext to the drop box's submissions endpoint; resolves to the receipt id.
 * onProgress(loaded, total) follows the upload. Rejects with failure('network') when the
 * connection broke, else with the kind the status says: tooLarge, busy, full or refused.
 */
export function upload(endpoint, ciphertext, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', endpoint);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.responseType = 'json';
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded, e.total); };
    xhr.onerror = () => reject(failure('network'));
    xhr.onload = () => {
      if (xhr.status === 201 && xhr.response && /^[0-9a-f]{32}$/.test(xhr.response.id)) {
        resolve(xhr.response.id);
        return;
      }
      reject(failure({ 413: 'tooLarge', 503: 'busy', 507: 'full' }[xhr.status] || 'refused'));
    };
    xhr.send(new Blob([ciphertext], { type: 'application/octet-stream' }));
  });
}
