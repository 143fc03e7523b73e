// Hidden details in photos, on the person's device (docs/forms.md, "Hidden details in photos"):
// in Debian's chromium against the real drop box and keytool. The pictures are drawn by the
// browser's canvas and given their hidden details here, byte by byte (EXIF with a GPS position,
// make, model, artist, a time and an orientation; XMP with a creator and a city; a comment; PNG
// text, compressed text and eXIf). Each is attached to a form: the page must name what it
// holds, not send before the person answers, and send either the copy keytool clean would make,
// byte for byte, or the photo as it was; keytool decrypt's summary says which. Also: a HEIC photo
// and a video get a plain warning, a text file and a voice recording nothing, the page without
// JavaScript says it beforehand, the module is loaded only once a file is chosen and only with its
// integrity, and the form page's weight with and without it. Firefox at Tor Browser's Safer level
// cleans the same photo the same way. The module and keytool are held to each other on photos
// altered at random (SEED and CASES repeat or widen a run). The time to read and clean a 10 MiB
// photo is printed for docs/benchmarks.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';
import { artifacts, launch, stage, fillForm, axeViolations, watch, launchFirefox, firefoxForm, press } from './lib.mjs';

const MiB = 1 << 20;
const ORGS = ['kok', 'mk-act', 'kinderrechtencoalitie'];
let tmp, bin, staff, box, browser, close;

before(async () => {
  ({ tmp, bin, staff, box, close } = await stage('photos', ORGS));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  close?.();
});

const keytool = (...args) => execFileSync(path.join(bin, 'keytool'), args, { stdio: 'pipe' }).toString();

// ---- Pictures and their hidden details, made here. ----

// The details planted, each a string found nowhere else.
const PLANTED = {
  make: 'PlantedMake', model: 'PlantedModel X1', artist: 'Planted Artist Anna', taken: '2026:05:01 12:34:56',
  creator: 'Planted XMP Creator', city: 'PlantedCity', comment: 'Planted JPEG comment',
  author: 'Planted PNG Author', copyright: 'Planted compressed PNG copyright',
};
const ORIENTATION = 6; // taken with the phone held upright: shown turned 90° clockwise

const u16 = (v) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; };

// tiff lays out directories (each a list of [tag, value]) after a big-endian header, then the
// values longer than four bytes. A value that is a function gets the directories' offsets (for
// the pointers from IFD0 to the Exif and GPS directories).
function tiff(dirs) {
  const at = [];
  let pos = 8;
  for (const d of dirs) {
    at.push(pos);
    pos += 2 + 12 * d.length + 4;
  }
  const blocks = [Buffer.from('MM\0\x2a\0\0\0\x08', 'latin1')];
  const data = [];
  for (const d of dirs) {
    const b = Buffer.alloc(2 + 12 * d.length + 4);
    b.writeUInt16BE(d.length, 0);
    d.forEach(([tag, value], i) => {
      const v = typeof value === 'function' ? value(at) : value;
      const p = 2 + 12 * i;
      b.writeUInt16BE(tag, p);
      b.writeUInt16BE(v.type, p + 2);
      b.writeUInt32BE(v.count, p + 4);
      if (v.data.length <= 4) {
        v.data.copy(b, p + 8);
      } else {
        b.writeUInt32BE(pos, p + 8);
        data.push(v.data);
        pos += v.data.length;
      }
    });
    blocks.push(b);
  }
  return Buffer.concat([...blocks, ...data]);
}
const ascii = (s) => ({ type: 2, count: Buffer.byteLength(s) + 1, data: Buffer.from(`${s}\0`) });
const short = (v) => ({ type: 3, count: 1, data: u16(v) });
const long = (v) => ({ type: 4, count: 1, data: u32(v) });
const rationals = (...pairs) => ({ type: 5, count: pairs.length, data: Buffer.concat(pairs.flatMap(([n, d]) => [u32(n), u32(d)])) });

// exif is the EXIF a phone writes, in short: camera, artist, orientation, the time it was taken,
// and where (Berlin's television tower: 52°31'15" N, 13°24'34" E).
function exif({ make = PLANTED.make, model = PLANTED.model, artist = PLANTED.artist } = {}) {
  return tiff([
    [[0x010f, ascii(make)], [0x0110, ascii(model)], [0x0112, short(ORIENTATION)], [0x013b, ascii(artist)],
      [0x8769, (at) => long(at[1])], [0x8825, (at) => long(at[2])]],
    [[0x9003, ascii(PLANTED.taken)]],
    [[0x0001, ascii('N')], [0x0002, rationals([52, 1], [31, 1], [15, 1])], [0x0003, ascii('E')], [0x0004, rationals([13, 1], [24, 1], [34, 1])]],
  ]);
}

const XMP_PACKET = `<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">`
  + '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""'
  + ` xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:City="${PLANTED.city}">`
  + `<dc:creator><rdf:Seq><rdf:li>${PLANTED.creator}</rdf:li></rdf:Seq></dc:creator>`
  + '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>';

const segment = (marker, payload) => Buffer.concat([Buffer.from([0xff, marker]), u16(payload.length + 2), payload]);

// jpegSegments splits a JPEG file into its marker segments up to the first scan (SOS), and the
// rest: the compressed picture and its end.
function jpegSegments(jpeg) {
  const segments = [];
  let pos = 2;
  for (;;) {
    assert.equal(jpeg[pos], 0xff, `a JPEG marker at byte ${pos}`);
    const marker = jpeg[pos + 1];
    if (marker === 0xda) return { segments, scan: jpeg.subarray(pos) };
    const end = pos + 2 + jpeg.readUInt16BE(pos + 2);
    segments.push({ marker, bytes: jpeg.subarray(pos, end) });
    pos = end;
  }
}

// plantedJPEG puts an EXIF (APP1), an XMP (APP1) and a comment (COM) into a JPEG of the canvas,
// after its JFIF header, where phones write them.
function plantedJPEG(jpeg) {
  const { segments, scan } = jpegSegments(jpeg);
  assert.equal(segments[0].marker, 0xe0, 'the canvas JPEG starts with its JFIF header');
  return Buffer.concat([jpeg.subarray(0, 2), segments[0].bytes,
    segment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), exif()])),
    segment(0xe1, Buffer.from(`http://ns.adobe.com/xap/1.0/\0${XMP_PACKET}`)),
    segment(0xfe, Buffer.from(PLANTED.comment)),
    ...segments.slice(1).map((s) => s.bytes), scan]);
}

function pngChunks(png) {
  const chunks = [];
  for (let pos = 8; pos < png.length;) {
    const end = pos + 12 + png.readUInt32BE(pos);
    chunks.push({ type: png.toString('latin1', pos + 4, pos + 8), bytes: png.subarray(pos, end), data: png.subarray(pos + 8, end - 4) });
    pos = end;
  }
  return chunks;
}

function pngChunk(type, data) {
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  return Buffer.concat([u32(data.length), typed, u32(zlib.crc32(typed))]);
}

// plantedPNG puts an eXIf chunk, a tEXt Author and a zTXt Copyright (compressed, which the page
// inflates to read) into a PNG of the canvas, after its header.
function plantedPNG(png) {
  const [ihdr, ...rest] = pngChunks(png);
  assert.equal(ihdr.type, 'IHDR');
  return Buffer.concat([png.subarray(0, 8), ihdr.bytes,
    pngChunk('eXIf', exif()),
    pngChunk('tEXt', Buffer.from(`Author\0${PLANTED.author}`, 'latin1')),
    pngChunk('zTXt', Buffer.concat([Buffer.from('Copyright\0\0', 'latin1'), zlib.deflateSync(PLANTED.copyright)])),
    ...rest.map((c) => c.bytes)]);
}

// canvasPicture draws a picture in the page (gradients, shapes, some noise, so that the
// compressed data is not trivial) and returns it encoded by the canvas as type.
async function canvasPicture(page, type, { width = 321, height = 187, noise = 0.1 } = {}) {
  const base64 = await page.evaluate(async ({ type, width, height, noise }) => {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const g = canvas.getContext('2d');
    const image = g.createImageData(width, height);
    const random = new Uint8Array(width * height);
    for (let off = 0; off < random.length; off += 65536) crypto.getRandomValues(random.subarray(off, off + 65536));
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        const n = random[i] * noise;
        image.data.set([(x * 255) / width + n, (y * 255) / height + n, ((x ^ y) & 0xff) + n, 255], 4 * i);
      }
    }
    g.putImageData(image, 0, 0);
    g.fillStyle = '#c03';
    g.fillRect(width / 4, height / 4, width / 3, height / 5);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, type, 0.92));
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    for (let off = 0; off < bytes.length; off += 32768) s += String.fromCharCode(...bytes.subarray(off, off + 32768));
    return btoa(s);
  }, { type, width, height, noise });
  return Buffer.from(base64, 'base64');
}

// pixels decodes both pictures in the page (createImageBitmap, as the browser shows them, the
// orientation applied) and compares every pixel.
function samePixels(page, a, b) {
  return page.evaluate(async ([a, b]) => {
    const decode = async (base64) => {
      const bitmap = await createImageBitmap(new Blob([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))]));
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const g = canvas.getContext('2d');
      g.drawImage(bitmap, 0, 0);
      return { width: bitmap.width, height: bitmap.height, data: g.getImageData(0, 0, bitmap.width, bitmap.height).data };
    };
    const [x, y] = await Promise.all([decode(a), decode(b)]);
    let differ = 0;
    for (let i = 0; i < x.data.length; i++) if (x.data[i] !== y.data[i]) differ++;
    return { size: [x.width, x.height, y.width, y.height], differ, bytes: x.data.length };
  }, [a.toString('base64'), b.toString('base64')]);
}

// ---- The form. ----

// openForm opens a form in a fresh context with the problems watch finds on it.
async function openForm(lang, procedure, { javaScriptEnabled = true } = {}) {
  const context = await browser.newContext({ javaScriptEnabled, viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  const problems = watch(page, box.origin);
  const url = `${box.origin}/${lang}/forms/${procedure}/`;
  await page.goto(url);
  const def = await (await fetch(`${url}form.json`)).json();
  return { context, page, problems, def };
}

const msgOf = (page, key) => page.getAttribute('form', `data-msg-photos-${key}`);
const question = '#f-files-photos .photos-choice';
const note = '#f-files-photos-note';

// sendAndDecrypt sends the form as it is and returns the receipt's id, the attachment as keytool
// decrypt wrote it, and the case's summary.txt.
async function sendAndDecrypt(page, org) {
  await page.click('button[type=submit]');
  await page.waitForSelector('#receipt:not([hidden])', { timeout: 60_000 });
  const id = (await page.textContent('#receipt-id')).trim();
  const cases = path.join(tmp, `cases-${id}`);
  keytool('decrypt', '--key', staff[org].key, '--passphrase-file', staff[org].pass, '--in', box.spool(org), '--out', cases);
  const dir = path.join(cases, id, 'attachments');
  const [file] = fs.readdirSync(dir);
  return { id, attachment: fs.readFileSync(path.join(dir, file)), summary: fs.readFileSync(path.join(cases, id, 'summary.txt'), 'utf8') };
}

// What the scan data of a JPEG, or the IDAT chunks of a PNG, are: the compressed picture.
const compressed = (kind, file) => (kind === 'JPEG'
  ? jpegSegments(file).scan
  : Buffer.concat(pngChunks(file).filter((c) => c.type === 'IDAT').map((c) => c.data)));

for (const kind of ['JPEG', 'PNG']) {
  test(`a ${kind} photo's hidden details are named, and removed on the device as keytool clean removes them, or kept, as the person says`, async () => {
    const name = kind === 'JPEG' ? 'IMG_2041.jpg' : 'Screenshot_2041.png';
    const mimeType = kind === 'JPEG' ? 'image/jpeg' : 'image/png';
    const { context, page, problems } = await openForm('en', 'kok-complaints');
    const canvas = await canvasPicture(page, mimeType);
    const original = kind === 'JPEG' ? plantedJPEG(canvas) : plantedPNG(canvas);
    const originalFile = path.join(tmp, name);
    fs.writeFileSync(originalFile, original);
    // What keytool clean makes of it: the browser's copy must be the same, byte for byte.
    const byKeytool = path.join(tmp, `keytool-${name}`);
    keytool('clean', originalFile, '--out', byKeytool);
    const expectedCopy = fs.readFileSync(byKeytool);
    await context.close();

    for (const answer of ['remove', 'keep']) {
      const label = `${kind}, ${answer}`;
      const { context, page, problems: more, def } = await openForm('en', 'kok-complaints');
      const posts = [];
      page.on('request', (r) => { if (r.method() === 'POST') posts.push(r.url()); });
      await fillForm(page, def, { name, mimeType, buffer: original });

      // The page names what the photo tells, in the page's words, and asks.
      await page.waitForSelector(`${question}:not([hidden])`);
      const said = await page.textContent(note);
      for (const what of ['where', 'device', 'name', 'when']) {
        assert.ok(said.includes(await msgOf(page, what)), `${label}: the notice does not name "${await msgOf(page, what)}": ${said}`);
      }
      assert.ok(said.includes(name), `${label}: the notice does not name the file: ${said}`);
      assert.equal(await page.getAttribute(note, 'role'), 'status', `${label}: the notice is not announced`);
      assert.deepEqual(await page.$$eval(`${question} button`, (bs) => bs.map((b) => b.type)), ['button', 'button']);

      if (answer === 'remove') {
        assert.deepEqual(await axeViolations(page), [], `${label}: axe with the question open`);
        await page.locator('.field-files').screenshot({ path: path.join(artifacts, `photos-${kind.toLowerCase()}-question.png`) });
        // Not sent before the person answers: the form says so and takes them to the question.
        await page.click('button[type=submit]');
        await page.waitForFunction((m) => document.getElementById('form-status').textContent === m, await msgOf(page, 'choose'));
        assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), (await page.textContent(`${question} button:not(.secondary)`)).trim(),
          `${label}: the focus is not on the question's first button`);
        await page.waitForTimeout(300);
        assert.deepEqual(posts, [], `${label}: sent before the person answered`);
        await page.click(`${question} button:not(.secondary)`);
      } else {
        await page.click(`${question} button.secondary`);
      }
      await page.waitForSelector(question, { state: 'hidden' });
      assert.equal((await page.textContent(note)).trim(), await msgOf(page, answer === 'remove' ? 'removed' : 'kept'), `${label}: what the page says after`);
      assert.equal(await page.evaluate(() => document.activeElement.id), 'f-files-photos-note', `${label}: the focus is lost`);
      assert.equal(await page.textContent('#form-status'), '', `${label}: the status still asks`);
      if (answer === 'remove') assert.deepEqual(await axeViolations(page), [], `${label}: axe after the answer`);

      const { attachment, summary } = await sendAndDecrypt(page, 'kok');
      assert.deepEqual([...problems, ...more], [], `${label}: problems in the page`);
      await context.close();

      if (answer === 'keep') {
        assert.ok(attachment.equals(original), `${label}: the photo kept is not the one attached`);
        for (const line of ['GPS position: 52.520833 N, 13.409444 E', `camera make: ${PLANTED.make}`, `artist: ${PLANTED.artist}`]) {
          assert.ok(summary.includes(line), `${label}: summary.txt does not list "${line}":\n${summary}`);
        }
        continue;
      }
      // Removed: none of the planted strings, nothing keytool finds, the copy keytool clean
      // makes, and the same picture.
      for (const s of Object.values(PLANTED)) assert.ok(!attachment.includes(Buffer.from(s)), `${label}: "${s}" is still in the photo`);
      assert.match(summary, new RegExp(`Hidden details: none found \\(${kind}\\)`), `${label}: summary.txt:\n${summary}`);
      assert.ok(attachment.equals(expectedCopy), `${label}: the copy differs from keytool clean's (${attachment.length} and ${expectedCopy.length} bytes)`);
      // The orientation, kept as keytool keeps it: a new EXIF of 32 bytes holding only it.
      const orientation = Buffer.from([0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, ORIENTATION, 0, 0, 0, 0, 0, 0]);
      if (kind === 'JPEG') {
        const kept = jpegSegments(attachment).segments.filter((s) => s.marker >= 0xe0 && s.marker <= 0xef || s.marker === 0xfe);
        assert.deepEqual(kept.map((s) => s.marker), [0xe0, 0xe1, 0xe2], `${label}: JFIF, the orientation and the colour profile`);
        assert.ok(kept[1].bytes.equals(segment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), orientation]))), `${label}: the orientation's EXIF`);
      } else {
        const chunks = pngChunks(attachment);
        assert.deepEqual(chunks.map((c) => c.type).filter((t) => t !== 'IDAT'), ['IHDR', 'eXIf', 'IEND'], `${label}: chunks`);
        assert.ok(chunks[1].data.equals(orientation), `${label}: the orientation's eXIf`);
      }
      assert.ok(compressed(kind, attachment).equals(compressed(kind, original)), `${label}: the compressed picture changed`);
      const check = await browser.newPage();
      const pixels = await samePixels(check, original, attachment);
      await check.close();
      assert.equal(pixels.differ, 0, `${label}: ${pixels.differ} of ${pixels.bytes} pixel bytes differ`);
      assert.deepEqual(pixels.size, [187, 321, 187, 321], `${label}: decoded sizes (turned by the orientation)`);
    }
  });
}

test('a HEIC photo and a video get a plain warning and no question, a text file and a recording nothing; the child form speaks to the child', async () => {
  const { context, page, problems, def } = await openForm('ar', 'child-integrity-contact');
  const files = def.fields.find((f) => f.type === 'files');
  const ar = fs.readFileSync(new URL('../../themes/safe/i18n/ar.toml', import.meta.url), 'utf8');
  // A photo first: the question, in Arabic, right to left, in the child's voice.
  const photo = plantedPNG(await canvasPicture(page, 'image/png'));
  await page.setInputFiles(`#f-${files.name}`, { name: 'IMG_2041.png', mimeType: 'image/png', buffer: photo });
  await page.waitForSelector(`${question}:not([hidden])`);
  assert.ok(ar.includes(`photos_found_child = "${await msgOf(page, 'found')}"`), 'the child form does not use photos_found_child');
  assert.equal(await page.$eval(`${note} bdi`, (b) => b.textContent), 'IMG_2041.png', 'the file name is not isolated from the sentence');
  assert.deepEqual(await axeViolations(page), [], 'axe with the question, in Arabic');
  await page.locator('.field-files').screenshot({ path: path.join(artifacts, 'photos-ar-question.png') });
  // A text file chosen instead: the question goes, and nothing is said.
  await page.setInputFiles(`#f-${files.name}`, { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Nur ein Text, keine Angaben.\n') });
  await page.waitForTimeout(1000);
  assert.equal(await page.textContent(note), '', 'a text file got a notice');
  assert.ok(await page.isHidden(question), 'a text file got a question');

  // A HEIC photo, told by its first bytes (an ISO file type box) and its name.
  const heic = Buffer.concat([u32(24), Buffer.from('ftypheic\0\0\0\0mif1heic', 'latin1'), Buffer.alloc(2000, 7)]);
  await page.setInputFiles(`#f-${files.name}`, { name: 'IMG_0001.HEIC', mimeType: 'image/heic', buffer: heic });
  const cannot = (await msgOf(page, 'cannot')).replace('{name}', 'IMG_0001.HEIC');
  await page.waitForFunction((m) => document.getElementById('f-files-photos-note').textContent === m, cannot);
  assert.ok(await page.isHidden(question), 'a HEIC photo got the question it cannot answer');
  assert.ok(ar.includes(`photos_cannot_child = "${await msgOf(page, 'cannot')}"`), 'the child form does not use photos_cannot_child');
  assert.deepEqual(await axeViolations(page), [], 'axe with the warning');
  await page.locator('.field-files').screenshot({ path: path.join(artifacts, 'photos-ar-heic.png') });

  // Videos, which phones give the place they were filmed: an MP4 told by its file type box, a
  // QuickTime file that starts without one, by its name and type; an M4A recording gets nothing.
  const mp4 = Buffer.concat([u32(24), Buffer.from('ftypmp42\0\0\0\0isommp42', 'latin1'), u32(16), Buffer.from('moov', 'latin1'), Buffer.alloc(2000, 3)]);
  const mov = Buffer.concat([u32(8), Buffer.from('wide', 'latin1'), u32(16), Buffer.from('mdat', 'latin1'), Buffer.alloc(2000, 5)]);
  const m4a = Buffer.concat([u32(24), Buffer.from('ftypM4A \0\0\0\0M4A isom', 'latin1'), Buffer.alloc(2000, 9)]);
  const video = await msgOf(page, 'video');
  assert.ok(ar.includes(`photos_video_child = "${video}"`), 'the child form does not use photos_video_child');
  await page.setInputFiles(`#f-${files.name}`, [
    { name: 'VID_20260501.mp4', mimeType: 'application/octet-stream', buffer: mp4 },
    { name: 'IMG_0002.MOV', mimeType: 'video/quicktime', buffer: mov },
    { name: 'voice.m4a', mimeType: 'audio/mp4', buffer: m4a },
  ]);
  await page.waitForFunction((m) => document.getElementById('f-files-photos-note').textContent === m, ['VID_20260501.mp4', 'IMG_0002.MOV'].map((n) => video.replace('{name}', n)).join(''));
  assert.equal(await page.$$eval(`${note} p`, (ps) => ps.length), 2, 'one warning for each video, none for the recording');
  assert.ok(await page.isHidden(question), 'a video got the question it cannot answer');
  assert.deepEqual(await axeViolations(page), [], 'axe with the video warnings');

  // The warning does not stop the form: it is sent, HEIC and all, and keytool says it could not read it.
  await fillForm(page, def, { name: 'IMG_0001.HEIC', mimeType: 'image/heic', buffer: heic });
  const { attachment, summary } = await sendAndDecrypt(page, 'kinderrechtencoalitie');
  assert.ok(attachment.equals(heic), 'the HEIC file was changed');
  assert.match(summary, /Hidden details: not read/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('without JavaScript, the form says beside the file field that photos carry hidden details; with it, the page asks when one is chosen', async () => {
  for (const [lang, procedure, key] of [['en', 'kok-complaints', 'photos_nojs'], ['ar', 'child-integrity-contact', 'photos_nojs_child'], ['de', 'mk-act-complaints', 'photos_nojs']]) {
    const strings = fs.readFileSync(new URL(`../../themes/safe/i18n/${lang}.toml`, import.meta.url), 'utf8');
    const sentence = new RegExp(`^${key} = "(.*)"$`, 'm').exec(strings)[1];
    for (const javaScriptEnabled of [false, true]) {
      const { context, page, problems } = await openForm(lang, procedure, { javaScriptEnabled });
      const shown = page.locator('.field-files .how-nojs');
      assert.equal((await shown.textContent()).trim(), sentence, `${lang}: the sentence`);
      assert.equal(await shown.isVisible(), !javaScriptEnabled, `${lang} ${javaScriptEnabled ? 'with' : 'without'} JavaScript: the sentence's visibility`);
      // It comes before the file field, where it is read before a file is chosen.
      assert.ok(await page.evaluate(() => document.querySelector('.field-files .how-nojs').compareDocumentPosition(document.querySelector('.field-files input[type=file]')) & Node.DOCUMENT_POSITION_FOLLOWING));
      if (!javaScriptEnabled) assert.ok(await page.isHidden(question), 'the question without JavaScript');
      assert.deepEqual(problems, []);
      await context.close();
    }
  }
});

test('the module is loaded only once a file is chosen, with its integrity; the form page weighs at most 70 KiB before, and is measured after', async () => {
  for (const [lang, procedure] of [['de', 'kok-complaints'], ['en', 'mk-act-complaints'], ['ar', 'child-integrity-contact']]) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const responses = [];
    page.on('response', (r) => responses.push(r));
    await page.goto(`${box.origin}/${lang}/forms/${procedure}/`, { waitUntil: 'networkidle' });
    const weigh = async () => {
      const sizes = [];
      for (const r of responses) sizes.push({ url: r.url(), size: zlib.brotliCompressSync(await r.body(), { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length });
      return { total: sizes.reduce((n, s) => n + s.size, 0), parts: sizes.map((s) => `${path.basename(new URL(s.url).pathname).replace(/\.[0-9a-f]{64,}/, '') || 'page'} ${s.size}`).join(', ') };
    };
    const before = await weigh();
    assert.ok(!responses.some((r) => r.url().includes('/js/hidden-details.')), `${lang}: the module was loaded before a file was chosen`);
    assert.ok(before.total <= 70 * 1024, `/${lang}/forms/${procedure}/ loads ${before.total} B brotli, over 70 KiB`);
    await page.setInputFiles('#f-files', { name: 'photo.jpg', mimeType: 'image/jpeg', buffer: plantedJPEG(await canvasPicture(page, 'image/jpeg')) });
    await page.waitForSelector(`${question}:not([hidden])`);
    const loaded = await weigh();
    console.log(`# /${lang}/forms/${procedure}/ ${before.total} B brotli before a file is chosen (${before.parts}); ${loaded.total} B with the module (${loaded.parts})`);
    const link = await page.$eval('link[rel=modulepreload]', (l) => ({ href: l.getAttribute('href'), integrity: l.integrity }));
    assert.equal(link.href, await page.getAttribute('form', 'data-photos'));
    assert.match(link.integrity, /^sha384-/);
    await context.close();
  }

  // A module that is not the one the page was built with is not run, and the form is sent all
  // the same, as it is.
  const { context, page, def } = await openForm('en', 'kok-complaints');
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.route('**/js/hidden-details.*', async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, body: `${await response.text()}\nglobalThis.tampered = true;` });
  });
  const photo = plantedJPEG(await canvasPicture(page, 'image/jpeg'));
  await fillForm(page, def, { name: 'photo.jpg', mimeType: 'image/jpeg', buffer: photo });
  await page.waitForFunction(() => document.querySelector('link[rel=modulepreload]'));
  const { attachment } = await sendAndDecrypt(page, 'kok');
  assert.ok(attachment.equals(photo), 'the photo was changed by a module that did not load');
  assert.equal(await page.evaluate(() => globalThis.tampered), undefined, 'a module with another integrity ran');
  assert.ok(errors.some((e) => /integrity/i.test(e)), `no integrity error: ${errors}`);
  await context.close();
});

test('Firefox at Tor Browser\'s Safer level (no JIT) removes the same details the same way', async () => {
  const firefox = await launchFirefox({ level: 'safer' });
  try {
    const page = await (await firefox.createBrowserContext()).newPage();
    const problems = watch(page, box.origin);
    await page.goto(`${box.origin}/de/forms/kok-complaints/`);
    for (const [kind, type] of [['JPEG', 'image/jpeg'], ['PNG', 'image/png']]) {
      const canvas = await canvasPicture(page, type);
      const original = kind === 'JPEG' ? plantedJPEG(canvas) : plantedPNG(canvas);
      const name = `Foto.${kind.toLowerCase()}`;
      fs.writeFileSync(path.join(tmp, name), original);
      keytool('clean', path.join(tmp, name), '--out', path.join(tmp, `keytool-firefox-${name}`));
      await firefoxForm(page, tmp).setInputFiles('#f-files', { name, buffer: original });
      await page.waitForSelector(`${question}:not([hidden])`);
      await press(page, `${question} button:not(.secondary)`);
      await page.waitForFunction((q) => document.querySelector(q).hidden, {}, question);
      const copy = Buffer.from(await page.$eval('#f-files', async (input) => {
        const bytes = new Uint8Array(await input.files[0].arrayBuffer());
        let s = '';
        for (let off = 0; off < bytes.length; off += 32768) s += String.fromCharCode(...bytes.subarray(off, off + 32768));
        return btoa(s);
      }), 'base64');
      assert.ok(copy.equals(fs.readFileSync(path.join(tmp, `keytool-firefox-${name}`))), `Firefox ${kind}: the copy differs from keytool clean's`);
    }
    assert.deepEqual(problems, []);
  } finally {
    await firefox.close();
  }
});

// keytoolClean runs keytool clean on bytes: null when it refuses them, else the copy and the kinds
// of hidden detail it lists (software counted as other, as the page counts it).
function keytoolClean(bytes, n) {
  const file = path.join(tmp, `altered-${n}`);
  fs.writeFileSync(file, bytes);
  try {
    const said = keytool('clean', file, '--out', `${file}.clean`);
    const kinds = new Set([...said.matchAll(/^ {4}(location|device|person|time|software|other) /gm)].map((m) => (m[1] === 'software' ? 'other' : m[1])));
    return { copy: fs.readFileSync(`${file}.clean`), kinds };
  } catch (err) {
    assert.match(err.stderr.toString(), /nothing was written|is not a JPEG, PNG or PDF file/, `keytool clean failed otherwise on case ${n}`);
    return null;
  }
}

test('the page\'s reader and cleaner agree with keytool\'s on photos altered at random: the same copy, byte for byte, the same refusals, no detail keytool lists left unnamed', async () => {
  const { readDetails, removeDetails } = await import('../../themes/safe/assets/js/hidden-details.js');
  const page = await browser.newPage();
  const photos = { JPEG: plantedJPEG(await canvasPicture(page, 'image/jpeg', { width: 64, height: 40 })), PNG: plantedPNG(await canvasPicture(page, 'image/png', { width: 64, height: 40 })) };
  await page.close();
  const seed = Number(process.env.SEED ?? Date.now() % 1e9);
  let state = seed;
  const random = (n) => { // a small PRNG (mulberry32), so that a failing case can be made again with SEED
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
  const cases = Number(process.env.CASES ?? 200);
  const counts = { same: 0, refused: 0 };
  for (let n = 0; n < cases; n++) {
    const kind = n % 2 ? 'PNG' : 'JPEG';
    const photo = Buffer.from(photos[kind]);
    // Most changes fall where the hidden details are (before the compressed picture).
    const head = kind === 'JPEG' ? photo.length - jpegSegments(photo).scan.length : photo.indexOf('IDAT') - 4;
    let bytes = photo;
    switch (random(5)) {
      case 0: case 1: for (let i = random(4); i >= 0; i--) bytes[2 + random(head - 2)] = random(256); break;
      case 2: bytes = photo.subarray(0, 2 + random(photo.length - 2)); break;
      case 3: bytes = Buffer.concat([photo, kind === 'JPEG' && random(2) ? photos.JPEG : Buffer.from('trailing data 0123456789')]); break;
      default: { // another orientation, anything from 0 to 9
        const at = photo.indexOf(Buffer.from([0x01, 0x12, 0, 3, 0, 0, 0, 1]));
        bytes[at + 9] = random(10);
      }
    }
    const kept = path.join(artifacts, `altered-${seed}-${n}.${kind.toLowerCase()}`); // kept when the case fails
    fs.writeFileSync(kept, bytes);
    const label = `case ${n} (${kind}, SEED=${seed}, the photo: ${kept})`;
    const byKeytool = keytoolClean(bytes, n);
    let found;
    let copy;
    try {
      found = await readDetails(new Uint8Array(bytes));
      copy = Buffer.from(await removeDetails(new Uint8Array(bytes)));
    } catch (err) {
      assert.equal(byKeytool, null, `${label}: the page refused what keytool cleans: ${err.message}`);
      counts.refused++;
      fs.rmSync(kept);
      continue;
    }
    assert.notEqual(byKeytool, null, `${label}: keytool refused what the page cleaned`);
    assert.ok(copy.equals(byKeytool.copy), `${label}: the copies differ`);
    for (const k of ['location', 'device', 'person', 'time']) {
      assert.ok(!byKeytool.kinds.has(k) || found.has(k), `${label}: keytool lists ${k}, the page does not (page: ${[...found]})`);
    }
    counts.same++;
    fs.rmSync(kept);
  }
  console.log(`# ${cases} altered photos (SEED=${seed}): ${counts.same} cleaned to the same copy, ${counts.refused} refused by both`);
});

test('reading and cleaning a 10 MiB photo in chromium, with and without the JIT (for docs/benchmarks.md)', async () => {
  const runs = Number(process.env.RUNS ?? 5);
  const jitless = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--js-flags=--jitless'],
  });
  try {
    let photo;
    for (const [label, b] of [['JIT', browser], ['no JIT', jitless]]) {
      const page = await b.newPage();
      await page.goto(`${box.origin}/en/forms/kok-complaints/`);
      photo ??= plantedJPEG(await canvasPicture(page, 'image/jpeg', { width: 4800, height: 3300, noise: 1 }));
      assert.ok(photo.length >= 10 * MiB, `the photo is ${photo.length} bytes`);
      const times = await page.evaluate(async ({ base64, runs }) => {
        const { readDetails, removeDetails } = await import(document.querySelector('form').dataset.photos);
        const file = new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], 'photo.jpg');
        const out = [];
        for (let i = 0; i < runs; i++) {
          const t0 = performance.now();
          const bytes = new Uint8Array(await file.arrayBuffer());
          const found = await readDetails(bytes);
          const t1 = performance.now();
          const copy = await removeDetails(bytes);
          const t2 = performance.now();
          if (!found.has('location') || copy.length >= bytes.length) throw new Error('nothing found, or nothing removed');
          out.push([t1 - t0, t2 - t1]);
        }
        return out;
      }, { base64: photo.toString('base64'), runs });
      const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const read = median(times.map((t) => t[0]));
      const clean = median(times.map((t) => t[1]));
      console.log(`# ${label}: a ${(photo.length / MiB).toFixed(1)} MiB JPEG read in ${read.toFixed(0)} ms, cleaned (and the copy read back) in ${clean.toFixed(0)} ms; median of ${runs}`);
      await page.close();
    }
  } finally {
    await jitless.close();
  }
});
