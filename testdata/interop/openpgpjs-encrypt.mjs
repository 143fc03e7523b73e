// Encrypts a plaintext file with OpenPGP.js's lightweight build, as the form does in the browser:
// binary output, to every public key given, no compression, time zero in the literal packet.
//   node --conditions=browser openpgpjs-encrypt.mjs PLAINTEXT OUT KEY.asc [KEY.asc ...]
import { readFile, writeFile } from 'node:fs/promises';
// The lightweight build is exported for browsers only: run with --conditions=browser, so that
// node loads the very file the form's bundle is built from.
// Node 20 has no navigator, which the browser build reads (the CPU count, and the user agent to
// avoid Safari 13's broken AES-GCM); Node 21 and later have one.
globalThis.navigator ??= { hardwareConcurrency: 2, userAgent: `Node.js/${process.versions.node}` };
const openpgp = await import('openpgp/lightweight');

const [plaintextPath, outPath, ...keyPaths] = process.argv.slice(2);
if (!plaintextPath || !outPath || keyPaths.length === 0) {
  console.error('usage: node openpgpjs-encrypt.mjs PLAINTEXT OUT KEY.asc [KEY.asc ...]');
  process.exit(2);
}
const encryptionKeys = await Promise.all(
  keyPaths.map(async (p) => openpgp.readKey({ armoredKey: await readFile(p, 'utf8') })),
);
// The options of encryptTo in themes/safe/assets/js/form.js, copied rather than imported (that
// module reads the page's document when it loads): date 0, so the literal packet tells nothing of
// the sender's clock, and no compression. Change both together.
const message = await openpgp.createMessage({
  binary: new Uint8Array(await readFile(plaintextPath)), format: 'binary', date: new Date(0),
});
const started = performance.now();
const encrypted = await openpgp.encrypt({
  message, encryptionKeys, format: 'binary', config: { preferredCompressionAlgorithm: 0 },
});
const ms = performance.now() - started;
await writeFile(outPath, encrypted);
console.log(JSON.stringify({ bytes: encrypted.length, ms: Math.round(ms) }));
