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

// The parsing rules and derivations are the site's own module, the one the pages load.
const { parseCodename, deriveKeys, newCodename, followupFirst, followupLater } = await import('../../themes/safe/assets/js/codename.js');

for (const v of await json('codenames.json')) {
  const { char, ...got } = parseCodename(v.input);
  if (got.error === 'character') check(char === [...v.input][got.position - 1], `parse ${v.note}: char ${char}`);
  const want = v.digits ? { digits: v.digits } : { error: v.error, ...(v.position && { position: v.position }), ...(v.error === 'length' && { count: v.count ?? 0 }) };
  check(JSON.stringify(got) === JSON.stringify(want), `parse ${v.note}: ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

// New codenames: 26 digits that parse, with no digit favoured (a loose check: 2,000 codenames,
// 50,000 random digits, each value between 4,000 and 6,000 times; a modulo bias of 256 % 10
// would give 0 to 5 about 5,100 and 6 to 9 about 4,850, so this catches a broken draw, not bias).
const counts = Array(10).fill(0);
const seen = new Set();
for (let i = 0; i < 2000; i++) {
  const c = newCodename();
  check(/^[0-9]{26}$/.test(c) && parseCodename(c).digits === c, `newCodename gave ${c}`);
  for (const d of c.slice(0, 25)) counts[d]++;
  seen.add(c);
}
check(seen.size === 2000, 'newCodename repeated itself');
check(counts.every((n) => n > 4000 && n < 6000), `newCodename's digits are uneven: ${counts}`);

const utf8 = (s) => new TextEncoder().encode(s);
const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');

const deriveMs = [];
for (const v of await json('derivations.json')) {
  const started = performance.now();
  const got = await deriveKeys(parseCodename(v.codename).digits, v.org);
  deriveMs.push(Math.round(performance.now() - started));
  for (const key of ['k', 'token', 'lookup', 'answer_pass', 'case']) check(got[key] === v[key], `${v.codename} at ${v.org}: ${key} = ${got[key]}, want ${v[key]}`);
  check(JSON.stringify(followupFirst(got, v.org)) === JSON.stringify(v.followup_first), `${v.org}: followup_first`);
  check(JSON.stringify(followupLater(got)) === JSON.stringify(v.followup_later), `${v.org}: followup_later`);
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
