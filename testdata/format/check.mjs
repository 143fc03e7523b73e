// Checks the submission format as the browser writes it (docs/format.md, "Padding of
// submissions"), with the site's own module (themes/safe/assets/js/submission.js), the one the
// form and the answers page load:
// - it writes each padded vector byte for byte from the vector's header and files;
// - it pads every length of padded-sizes.json as Go's submission.PaddedSize does;
// - two short submissions of different lengths encrypt to ciphertexts of one size;
// - the largest submission the form allows (25 MiB of files, a header of exactly 1 MiB) pads to
//   28 MiB and encrypts within the drop box's body_limit (config.toml); its ciphertext goes to
//   OUT, where the Go test checks it with the drop box's policy and reads it back.
// Run from the repository's root, with a staff public key:
//   node --conditions=browser --jitless testdata/format/check.mjs STAFF.pub.asc OUT.pgp
// --jitless also takes WebAssembly away, so a pass proves neither is needed.
import { readFile, writeFile } from 'node:fs/promises';

globalThis.navigator ??= { hardwareConcurrency: 2, userAgent: `Node.js/${process.versions.node}` };
const { buildSubmission, encryptTo, paddedSize } = await import('../../themes/safe/assets/js/submission.js');

const [keyPath, outPath] = process.argv.slice(2);
if (!keyPath || !outPath) {
  console.error('usage: node --conditions=browser --jitless testdata/format/check.mjs STAFF.pub.asc OUT.pgp');
  process.exit(2);
}
const dir = new URL('./', import.meta.url);
const json = async (name) => JSON.parse(await readFile(new URL(name, dir), 'utf8'));
const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };
const MiB = 1 << 20;

for (const [n, want] of await json('padded-sizes.json')) {
  check(paddedSize(n) === want, `paddedSize(${n}) = ${paddedSize(n)}, want ${want}`);
}

// The padded vectors, from their header and their files (cut from the vector itself).
for (const name of ['padded', 'padded-to-the-byte', 'padded-attachment']) {
  const want = new Uint8Array(await readFile(new URL(`${name}.submission`, dir)));
  const header = await json(`${name}.json`);
  let offset = want.indexOf(0x0a, want.indexOf(0x0a) + 1) + 1;
  const files = header.attachments.map((a) => {
    const file = new File([want.slice(offset, offset + a.size)], a.name, { type: a.type });
    offset += a.size;
    return file;
  });
  const { procedure, lang, fields, followup } = header;
  const got = await buildSubmission({ procedure, lang, fields, ...(followup && { followup }) }, files);
  check(got.length === want.length && got.every((b, i) => b === want[i]),
    `${name}: the form's script writes ${got.length} bytes, not the vector's ${want.length}: ${new TextDecoder().decode(got.slice(0, 600))}`);
}

const armored = await readFile(keyPath, 'utf8');
const form = (fields) => ({ procedure: 'kok-complaints', lang: 'de', fields });

// Two short answers, of different lengths and scripts: one padded size, one ciphertext size.
const short = [];
for (const value of ['Ja', 'لا، لا أريد أن تتصلوا بي. '.repeat(40)]) {
  const plain = await buildSubmission(form([{ name: 'contact-wanted', label: 'Kontakt?', value }]), []);
  short.push({ plaintext: plain.length, ciphertext: (await encryptTo(plain, armored)).length });
}
check(short[0].plaintext === 4096 && short[1].plaintext === 4096, `short plaintexts of ${short.map((s) => s.plaintext)} bytes, not 4096`);
check(short[0].ciphertext === short[1].ciphertext, `short ciphertexts of ${short.map((s) => s.ciphertext)} bytes: their size tells them apart`);

// The largest: 25 MiB of files and a header line of exactly 1 MiB (the format's limit).
const bytes = new Uint8Array(25 * MiB);
for (let off = 0; off < bytes.length; off += 65536) crypto.getRandomValues(bytes.subarray(off, off + 65536));
const fields = [0, 1, 2].map((i) => ({ name: `answer-${i}`, label: `Question ${i}`, value: 'x'.repeat(256 << 10) }));
fields.push({ name: 'answer-3', label: 'Question 3', value: '' });
const trial = await buildSubmission(form(fields), [new File([bytes], 'scan.pdf', { type: 'application/pdf' })]);
const headerLine = (plain) => plain.indexOf(0x0a, 23) - 23 + 1; // after the 23 bytes of the magic line
fields[3].value = 'x'.repeat((1 << 20) - headerLine(trial) - 1); // - 1: the padding's count gains a digit
const largest = await buildSubmission(form(fields), [new File([bytes], 'scan.pdf', { type: 'application/pdf' })]);
check(headerLine(largest) === 1 << 20, `the largest header is ${headerLine(largest)} bytes, not 1 MiB: the test missed the limit`);
check(largest.length === 28 * MiB, `the largest submission pads to ${largest.length} bytes, not 28 MiB`);
const started = performance.now();
const ciphertext = await encryptTo(largest, armored);
const encryptMs = Math.round(performance.now() - started);
const bodyLimit = Number(/^body_limit\s*=\s*(\d+)/m.exec(await readFile(new URL('../../config.toml', dir), 'utf8'))[1]);
check(ciphertext.length <= bodyLimit, `the largest submission encrypts to ${ciphertext.length} bytes, over body_limit ${bodyLimit}`);
await writeFile(outPath, ciphertext);

console.log(JSON.stringify({
  webassembly: typeof WebAssembly !== 'undefined', short, largest: { plaintext: largest.length, ciphertext: ciphertext.length, body_limit: bodyLimit, encrypt_ms: encryptMs },
}));
if (failures.length > 0) {
  console.error(failures.join('\n'));
  process.exit(1);
}
