// Encrypts a plaintext file with OpenPGP.js's lightweight build, as the form does in the browser:
// binary output, to every public key given.
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
const message = await openpgp.createMessage({ binary: new Uint8Array(await readFile(plaintextPath)), format: 'binary' });
const started = performance.now();
const encrypted = await openpgp.encrypt({ message, encryptionKeys, format: 'binary' });
const ms = performance.now() - started;
await writeFile(outPath, encrypted);
console.log(JSON.stringify({ bytes: encrypted.length, ms: Math.round(ms) }));
