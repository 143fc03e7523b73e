// Checks the answers vectors as the browser computes them (docs/format.md, "Answers and
// follow-up"): the codename parsing rules, the derivations with WebCrypto (PBKDF2, HKDF,
// SHA-256: native, no WebAssembly), the answer plaintexts and broken ones, and the ciphertext
// opened with OpenPGP.js's `passwords` option. The codename and the answer are read by the
// site's own modules (themes/safe/assets/js/codename.js and answer.js), the ones the pages
// load. Run from the repository's root:
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

// The answer format, read by the site's own reader (the module the answers page loads): the
// vectors read as Go reads them, and broken answers are refused, each for its own reason.
const { readAnswer } = await import('../../themes/safe/assets/js/answer.js');
const read = (raw) => {
  const a = readAnswer(raw);
  return { lang: a.lang, day: a.day, text: a.text, attachments: a.attachments.map(({ name, type, size }) => ({ name, type, size })), bodies_hex: a.attachments.map((f) => hex(f.bytes)), size: a.size };
};
for (const name of ['minimal', 'text-many-scripts', 'attachments']) {
  const got = read(await bytes(`${name}.answer`));
  check(JSON.stringify(got) === JSON.stringify(await json(`${name}.json`)), `${name}.answer reads as ${JSON.stringify(got)}`);
}

// Broken answers: each built from a header and a text, padded to `size` (or as told), and the
// reason the reader must give. An answer that reads is a failure; so is one refused for another
// reason, which would mean the case does not test what it says.
const answer = (header, text = '', { pad = header.size, tail = [] } = {}) => {
  const head = utf8(`complaint-answer/1\n${typeof header === 'string' ? header : JSON.stringify(header)}\n`);
  const body = utf8(text);
  const out = new Uint8Array(Math.max(pad ?? 0, head.length + body.length) + tail.length);
  out.set(head);
  out.set(body, head.length);
  out.set(tail, out.length - tail.length);
  return out;
};
const ok = { lang: 'de', day: '2026-11-30', text: 5, attachments: [], size: 4096 };
check(read(answer(ok, 'Hallo')).text === 'Hallo', 'a small valid answer does not read');
const broken = [
  ['wrong magic', utf8('complaint-answer/2\n{}\n'), /first line/],
  ['no line feed after the header', utf8(`complaint-answer/1\n${JSON.stringify(ok)}`), /ends inside its header/],
  ['a header over 64 KiB', answer({ ...ok, lang: `de-${'x'.repeat(8)}`.padEnd(70000, 'y') }, '', { pad: 131072 }), /longer than 65536/],
  ['a header that is not JSON', answer('{"lang": "de",'), /not valid JSON/],
  ['a header that is an array', answer('[]', '', { pad: 4096 }), /not a JSON object/],
  ['LANG, a key in another case', answer({ ...ok, LANG: 'de' }, 'Hallo'), /unknown key "LANG"/],
  ['an unknown key', answer({ ...ok, sha256: '' }, 'Hallo'), /unknown key "sha256"/],
  ['an unknown attachment key', answer({ ...ok, text: 0, attachments: [{ name: 'a', type: '', size: 0, sha256: '' }] }), /attachment 1: unknown key/],
  ['no size', answer({ ...ok, size: undefined }, 'Hallo', { pad: 4096 }), /no "size"/],
  ['a size that is not padded', answer({ ...ok, size: 4097 }, 'Hallo'), /not a padded size/],
  ['a size below the content', answer({ ...ok, text: 5000, size: 4096 }, 'x'.repeat(5000)), /less than/],
  ['a day that is no date', answer({ ...ok, day: '2026-02-30' }, 'Hallo'), /not a date/],
  ['a language that is no tag', answer({ ...ok, lang: 'DE' }, 'Hallo'), /not a language tag/],
  ['text over 256 KiB', answer({ ...ok, text: 262145 }), /at most 262144/],
  ['a name with a folder', answer({ ...ok, text: 0, attachments: [{ name: 'Fotos/a.jpg', type: '', size: 0 }] }), /folder separator/],
  ['a name with a bidi override', answer({ ...ok, text: 0, attachments: [{ name: 'gpj.\u202Eexe', type: '', size: 0 }] }), /bidirectional/],
  ['a name starting with a dot', answer({ ...ok, text: 0, attachments: [{ name: '.profile', type: '', size: 0 }] }), /starts with a dot/],
  ['an empty name', answer({ ...ok, text: 0, attachments: [{ name: '', type: '', size: 0 }] }), /1 to 255 bytes/],
  ['a type that is not ASCII', answer({ ...ok, text: 0, attachments: [{ name: 'a', type: 'text/plän', size: 0 }] }), /media type/],
  ['attachments over 25 MiB', answer({ ...ok, text: 0, attachments: [{ name: 'a', type: '', size: 26214400 }, { name: 'b', type: '', size: 1 }] }), /more than 26214400/],
  ['text that is not UTF-8', (() => { const a = answer(ok, 'Hallo'); a[a.indexOf(0x48)] = 0xff; return a; })(), /not valid UTF-8/],
  ['a byte other than zero in the padding', answer(ok, 'Hallo', { tail: [] }).map((b, i, a) => (i === a.length - 1 ? 1 : b)), /other than zero/],
  ['a byte after the padding', answer(ok, 'Hallo', { tail: [0] }), /after the padding/],
  ['padding cut short', answer(ok, 'Hallo').subarray(0, 4095), /ends inside its padding/],
  ['a header that starts with a byte order mark', answer(`\uFEFF${JSON.stringify(ok)}`, 'Hallo', { pad: 4096 }), /not valid JSON/],
];
// A text that starts with a byte order mark keeps it, as Go's reader keeps it.
check(read(answer({ ...ok, text: 8 }, '\uFEFFHallo')).text === '\uFEFFHallo', 'a byte order mark at the start of the text was dropped');
for (const [what, raw, reason] of broken) {
  let got = 'read';
  try { readAnswer(raw); } catch (err) { got = err.message; }
  check(reason.test(got), `${what}: ${got === 'read' ? 'the reader accepted it' : `refused for another reason: ${got}`}`);
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
