// Checks the answers vectors as the browser computes them (docs/format.md, "Answers and
// follow-up"): the codename parsing rules, the derivations with WebCrypto (PBKDF2, HKDF,
// SHA-256: native, no WebAssembly), the answer plaintexts, and the ciphertext opened with
// OpenPGP.js's `passwords` option. Run from the repository's root:
//   node --conditions=browser --jitless testdata/answers/check.mjs
// --jitless also takes WebAssembly away, so a pass proves neither is needed.
import { readFile } from 'node:fs/promises';

globalThis.navigator ??= { hardwareConcurrency: 2, userAgent: `Node.js/${process.versions.node}` };
const openpgp = await import('openpgp/lightweight');
const dir = new URL('./', import.meta.url);
const json = async (name) => JSON.parse(await readFile(new URL(name, dir), 'utf8'));
const bytes = async (name) => new Uint8Array(await readFile(new URL(name, dir)));
const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };

// The parsing rules of docs/format.md, "The codename", as a browser implements them.
const HYPHENS = '-\u2010\u2011\u2012\u2013\u2212\uFE63\uFF0D';
function parseCodename(input) {
  const digits = [];
  let pos = 0;
  for (const ch of input) {
    pos++;
    if (/\p{White_Space}/u.test(ch) || HYPHENS.includes(ch)) continue;
    if (!/\p{Nd}/u.test(ch)) return { error: 'character', position: pos };
    let start = ch.codePointAt(0);
    while (/\p{Nd}/u.test(String.fromCodePoint(start - 1))) start--;
    digits.push((ch.codePointAt(0) - start) % 10);
  }
  if (digits.length !== 26) return { error: 'length', count: digits.length };
  const table = ['0317598642', '7092154863', '4206871359', '1750983426', '6123045978',
    '3674209581', '5869720134', '8945362017', '9438617205', '2581436790'];
  let interim = 0;
  for (const d of digits) interim = Number(table[interim][d]);
  if (interim !== 0) return { error: 'check' };
  return { digits: digits.join('') };
}

for (const v of await json('codenames.json')) {
  const got = parseCodename(v.input);
  const want = v.digits ? { digits: v.digits } : { error: v.error, ...(v.position && { position: v.position }), ...(v.error === 'length' && { count: v.count ?? 0 }) };
  check(JSON.stringify(got) === JSON.stringify(want), `parse ${v.note}: ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

const utf8 = (s) => new TextEncoder().encode(s);
const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
const base64url = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const { subtle } = globalThis.crypto;

async function derive(digits, org) {
  const password = await subtle.importKey('raw', utf8(digits), 'PBKDF2', false, ['deriveBits']);
  const k = await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: utf8(`complaint-answers/1:${org}`), iterations: 600000 }, password, 256);
  const ikm = await subtle.importKey('raw', k, 'HKDF', false, ['deriveBits']);
  const hkdf = (info, n) => subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: utf8(info) }, ikm, n * 8);
  const token = await hkdf('complaint-answers/1 mailbox', 16);
  return {
    k: hex(k), token: hex(token), lookup: hex(await subtle.digest('SHA-256', token)),
    answer_pass: base64url(await hkdf('complaint-answers/1 answer-key', 32)),
    case: hex(await hkdf('complaint-answers/1 case', 16)),
  };
}

const deriveMs = [];
for (const v of await json('derivations.json')) {
  const started = performance.now();
  const got = await derive(parseCodename(v.codename).digits, v.org);
  deriveMs.push(Math.round(performance.now() - started));
  for (const key of ['k', 'token', 'lookup', 'answer_pass', 'case']) check(got[key] === v[key], `${v.codename} at ${v.org}: ${key} = ${got[key]}, want ${v[key]}`);
  const first = { lookup: got.lookup, answer_pass: got.answer_pass, case: got.case, org: v.org };
  check(JSON.stringify(first) === JSON.stringify(v.followup_first), `${v.org}: followup_first`);
  check(JSON.stringify({ case: got.case }) === JSON.stringify(v.followup_later), `${v.org}: followup_later`);
}

// The answer format: magic line, header line, text, attachments, padding to `size` bytes.
const padded = (n) => [4096, 16384, 65536, 262144].find((b) => n <= b) ?? Math.ceil(n / 1048576) * 1048576;
function readAnswer(raw) {
  const magic = utf8('complaint-answer/1\n');
  if (!magic.every((b, i) => raw[i] === b)) throw new Error('not an answer');
  const end = raw.indexOf(0x0a, magic.length);
  const header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw.subarray(magic.length, end)));
  let at = end + 1;
  const text = new TextDecoder('utf-8', { fatal: true }).decode(raw.subarray(at, at += header.text));
  const bodies = header.attachments.map((a) => hex(raw.subarray(at, at += a.size)));
  if (header.size !== padded(header.size) || header.size < at) throw new Error(`size ${header.size} is not a padded size that holds the answer`);
  if (!raw.subarray(at, header.size).every((b) => b === 0)) throw new Error('the padding holds a byte other than zero');
  if (raw.length !== header.size) throw new Error(`the answer is ${raw.length} bytes; its header says ${header.size}`);
  return { lang: header.lang, day: header.day, text, attachments: header.attachments, bodies_hex: bodies, size: header.size };
}
for (const name of ['minimal', 'text-many-scripts', 'attachments']) {
  const got = readAnswer(await bytes(`${name}.answer`));
  check(JSON.stringify(got) === JSON.stringify(await json(`${name}.json`)), `${name}.answer reads as ${JSON.stringify(got)}`);
}

const c = await json('ciphertext.json');
const ciphertext = await bytes(c.ciphertext);
const plaintext = await bytes(c.plaintext);
let started = performance.now();
const { data } = await openpgp.decrypt({
  message: await openpgp.readMessage({ binaryMessage: ciphertext }), passwords: [c.answer_pass], format: 'binary',
});
const decryptMs = Math.round(performance.now() - started);
check(data.length === plaintext.length && data.every((b, i) => b === plaintext[i]), `${c.ciphertext} does not decrypt to ${c.plaintext}`);
const wrong = await openpgp.decrypt({
  message: await openpgp.readMessage({ binaryMessage: ciphertext }), passwords: ['A'.repeat(43)], format: 'binary',
}).then(() => 'opened', (e) => e.message);
check(wrong !== 'opened', 'a wrong passphrase opened the ciphertext');

if (failures.length) {
  console.error(failures.join('\n'));
  process.exit(1);
}
console.log(JSON.stringify({ webassembly: typeof WebAssembly !== 'undefined', derive_ms: deriveMs, decrypt_ms: decryptMs }));
