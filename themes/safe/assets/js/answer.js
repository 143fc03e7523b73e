// The reader of an answer's plaintext (docs/format.md, "An answer"), as the answers page runs it
// after OpenPGP.js has decrypted the answer. It checks what the Go reader (internal/answers,
// NewReader) checks, so that the browser and the drop box's page without JavaScript read the
// same answers and refuse the same ones: testdata/answers/check.mjs runs it on the vectors and
// on broken answers. No DOM, no OpenPGP: bytes in, an answer or an error out.

const MAGIC = new TextEncoder().encode('complaint-answer/1\n');
const MAX_HEADER = 64 << 10; // the header line, line feed included
const MAX_TEXT = 256 << 10;
const MAX_ATTACHMENTS = 100;
const MAX_ATTACHMENT_BYTES = 25 << 20; // all together, as the forms allow
const MAX_NAME_BYTES = 255;
const MAX_PLAINTEXT = 26 << 20; // the largest answer, padding included
const KEYS = ['lang', 'day', 'text', 'attachments', 'size'];
const ATTACHMENT_KEYS = ['name', 'type', 'size'];
const LANG = /^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$/;
const DAY = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const TYPE = /^[ -~]{0,255}$/;
// A folder separator, a control character (Cc) or a bidirectional formatting character
// (Bidi_Control): what Go's unsafeInName refuses.
const UNSAFE_IN_NAME = /[/\\\p{Cc}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

/** The size an answer of n bytes is padded to: 4, 16, 64 or 256 KiB, then a multiple of 1 MiB. */
export function paddedSize(n) {
  return [4096, 16384, 65536, 262144].find((b) => n <= b) ?? Math.ceil(n / 1048576) * 1048576;
}

// ignoreBOM: a byte order mark is a character like any other, as Go reads it (kept in a text,
// refused before a header's JSON), never silently dropped.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const refuse = (why) => { throw new Error(why); };
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v) => Number.isSafeInteger(v) && v >= 0;

function checkDay(day) {
  const m = typeof day === 'string' && DAY.exec(day);
  if (!m) return false;
  const [y, mo, d] = m.slice(1).map(Number);
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // not Date.UTC, which reads years 0 to 99 as 1900 to 1999
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

function checkAttachment(a, i, total) {
  const what = `attachment ${i + 1}`;
  if (!isObject(a)) refuse(`${what} is not an object`);
  for (const k of Object.keys(a)) if (!ATTACHMENT_KEYS.includes(k)) refuse(`${what}: unknown key ${JSON.stringify(k)}`);
  // As Go's decoder: a key left out or null is its zero value, and the rules below judge it.
  const name = a.name ?? '';
  const type = a.type ?? '';
  const size = a.size ?? 0;
  if (typeof name !== 'string' || /\p{Cs}/u.test(name) || name === '' || new TextEncoder().encode(name).length > MAX_NAME_BYTES) {
    refuse(`${what}: the name must be 1 to ${MAX_NAME_BYTES} bytes of UTF-8`);
  }
  if (name.startsWith('.')) refuse(`${what}: the name ${JSON.stringify(name)} starts with a dot`);
  if (UNSAFE_IN_NAME.test(name)) refuse(`${what}: the name ${JSON.stringify(name)} holds a folder separator, a control or a bidirectional formatting character`);
  if (typeof type !== 'string' || !TYPE.test(type)) refuse(`${what}: the media type is not at most 255 printable ASCII characters`);
  if (!isCount(size) || size > MAX_ATTACHMENT_BYTES - total) refuse(`${what}: the attachments are more than ${MAX_ATTACHMENT_BYTES} bytes together`);
  return { name, type, size };
}

/**
 * Reads one decrypted answer. Returns {lang, day, text, attachments: [{name, type, size, bytes}],
 * size}, each attachment's bytes a view into raw; throws an Error whose message says what is
 * wrong with an answer that breaks any rule of the format, to the last byte of its padding.
 */
export function readAnswer(raw) {
  if (raw.length < MAGIC.length || !MAGIC.every((b, i) => raw[i] === b)) refuse('not a version 1 answer: the first line is not "complaint-answer/1"');
  const end = raw.subarray(MAGIC.length, MAGIC.length + MAX_HEADER).indexOf(0x0a);
  if (end < 0) {
    refuse(raw.length - MAGIC.length >= MAX_HEADER ? `the header is longer than ${MAX_HEADER} bytes` : 'the answer ends inside its header');
  }
  const line = raw.subarray(MAGIC.length, MAGIC.length + end + 1);
  let h;
  try {
    h = JSON.parse(utf8.decode(line));
  } catch (err) {
    refuse(`the header is not valid JSON: ${err.message}`);
  }
  if (!isObject(h)) refuse('the header is not a JSON object');
  for (const k of Object.keys(h)) if (!KEYS.includes(k)) refuse(`the header: unknown key ${JSON.stringify(k)}`);
  // As Go's decoder: a key left out or null is its zero value (size: none), judged below.
  const lang = h.lang ?? '';
  const day = h.day ?? '';
  const text = h.text ?? 0;
  const attachments = h.attachments ?? null;
  const size = h.size ?? undefined;
  if (typeof lang !== 'string' || !LANG.test(lang)) refuse(`the header: lang ${JSON.stringify(lang)} is not a language tag`);
  if (!checkDay(day)) refuse(`the header: day ${JSON.stringify(day)} is not a date written YYYY-MM-DD`);
  if (!isCount(text) || text > MAX_TEXT) refuse(`the header: the text is ${text} bytes; at most ${MAX_TEXT}`);
  if (attachments !== null && !Array.isArray(attachments)) refuse('the header: attachments is not an array');
  const list = attachments ?? [];
  if (list.length > MAX_ATTACHMENTS) refuse(`the header: ${list.length} attachments; at most ${MAX_ATTACHMENTS}`);
  let total = 0;
  const files = list.map((a, i) => {
    const f = checkAttachment(a, i, total);
    total += f.size;
    return f;
  });
  const content = MAGIC.length + line.length + text + total;
  if (size === undefined) refuse('the header has no "size": the whole answer\'s bytes, padding included');
  if (!isCount(size)) refuse(`the header: size ${JSON.stringify(size)} is not a number of bytes`);
  if (size < content) refuse(`the header: size ${size} is less than the ${content} bytes the answer holds before its padding`);
  if (size > MAX_PLAINTEXT || size !== paddedSize(size)) refuse(`the header: size ${size} is not a padded size (4, 16, 64 or 256 KiB, or a multiple of 1 MiB up to ${MAX_PLAINTEXT})`);

  let at = MAGIC.length + line.length;
  if (raw.length < at + text) refuse(`the answer ends inside its text, which the header says is ${text} bytes`);
  let body;
  try {
    body = utf8.decode(raw.subarray(at, at + text));
  } catch {
    refuse('the text is not valid UTF-8');
  }
  at += text;
  for (const [i, f] of files.entries()) {
    if (raw.length < at + f.size) refuse(`attachment ${i + 1} ends early: the header says ${f.size} bytes`);
    f.bytes = raw.subarray(at, at += f.size);
  }
  if (raw.length < size) refuse(`the answer ends inside its padding: ${raw.length} bytes, the header says ${size}`);
  if (raw.length > size) refuse(`${raw.length - size} bytes after the padding`);
  if (!raw.subarray(at, size).every((b) => b === 0)) refuse('the padding holds a byte other than zero');
  return { lang, day, text: body, attachments: files, size };
}
