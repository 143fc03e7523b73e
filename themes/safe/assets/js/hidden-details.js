// Hidden details in photos, found and removed on the person's device (docs/forms.md, "Hidden
// details in photos"). A photo from a phone usually carries where it was taken and with which
// phone; once the staff pass it on, those can name or place the person who sent it.
//
// The rules are keytool's (keytool/metadata, docs/metadata.md), mirrored here: what it reads in
// JPEG and PNG files, and what `keytool clean` keeps, byte for byte, so that the copy the browser
// sends is the copy keytool clean would make of the same file, and keytool finds nothing in it.
// Nothing is encoded again: the compressed picture is copied as it is. Every length and offset
// is checked against the bytes at hand, as keytool checks them: the file may be anything.
//
// form.js loads this module only once a file is chosen, so the form's first load does not
// carry it.

/** What a hidden detail tells, as keytool names it (metadata.What). */
const LOCATION = 'location';
const DEVICE = 'device';
const PERSON = 'person';
const TIME = 'time';
const OTHER = 'other'; // software, comments, identifiers, data keytool cannot read

/** The details the page asks about: those that can name or place the person. */
const ASKED = [LOCATION, DEVICE, PERSON];

const bytesOf = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const EXIF = bytesOf('Exif\0\0');
const XMP = bytesOf('http://ns.adobe.com/xap/1.0/\0');
const XMP_EXTENDED = bytesOf('http://ns.adobe.com/xmp/extension/\0');
const IRB = bytesOf('Photoshop 3.0\0');
const JFIF = bytesOf('JFIF\0');
const JFXX = bytesOf('JFXX\0');
const ICC = bytesOf('ICC_PROFILE\0');
const ADOBE = bytesOf('Adobe');
const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP0 = 0xe0;
const APP1 = 0xe1;
const APP2 = 0xe2;
const APP13 = 0xed;
const APP14 = 0xee;
const COM = 0xfe;

const startsWith = (b, prefix, at = 0) => b.length - at >= prefix.length && prefix.every((c, i) => b[at + i] === c);
const u32be = (b, at) => b[at] * 0x1000000 + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);
const latin1 = (b) => String.fromCharCode(...b.subarray(0, 2560));

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// hasText tells whether a value, as keytool makes it one printable line (metadata.Text), is
// not empty: keytool lists no detail whose value is only spaces and control characters.
const PRINTABLE = /[^\s\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/u;
const hasText = (s) => PRINTABLE.test(s);

// text decodes a value as keytool's latin1: UTF-8 when it is valid, else ISO 8859-1.
function text(b) {
  b = b.subarray(0, 2560);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return latin1(b);
  }
}

const upToZero = (b) => {
  const i = b.indexOf(0);
  return i < 0 ? b : b.subarray(0, i);
};

/** The format told by a file's first bytes, never by its name: 'JPEG', 'PNG' or ''. */
function formatOf(b) {
  if (b[0] === 0xff && b[1] === SOI && b[2] === 0xff) return 'JPEG';
  if (startsWith(b, PNG_SIGNATURE)) return 'PNG';
  return '';
}

// ---- EXIF: a TIFF structure (keytool/metadata/exif.go). ----

const typeSize = (type) => ({ 1: 1, 2: 1, 6: 1, 7: 1, 3: 2, 8: 2, 4: 4, 9: 4, 11: 4, 5: 8, 10: 8, 12: 8 })[type] ?? 0;

const IFD0_TAGS = new Map([
  [0x010d, OTHER], [0x010e, OTHER], [0x010f, DEVICE], [0x0110, DEVICE], [0x0131, OTHER],
  [0x0132, TIME], [0x013b, PERSON], [0x013c, DEVICE], [0x8298, PERSON], [0xc62f, DEVICE],
]);
const WINDOWS_TAGS = new Map([[0x9c9b, OTHER], [0x9c9c, OTHER], [0x9c9d, PERSON], [0x9c9e, OTHER], [0x9c9f, OTHER]]);
const EXIF_TAGS = new Map([
  [0x9003, TIME], [0x9004, TIME], [0x9010, LOCATION], [0x9011, LOCATION], [0x9012, LOCATION],
  [0xa420, OTHER], [0xa430, PERSON], [0xa431, DEVICE], [0xa433, DEVICE], [0xa434, DEVICE], [0xa435, DEVICE],
]);
const ORIENTATION = 0x0112;
const MAX_IFDS = 8;

function tiff(d) {
  if (d.length < 8) return null;
  const little = d[0] === 0x49 && d[1] === 0x49;
  if (!little && !(d[0] === 0x4d && d[1] === 0x4d)) return null;
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const u16 = (at) => view.getUint16(at, little);
  const u32 = (at) => view.getUint32(at, little);
  if (u16(2) !== 42) return null;
  const seen = new Set();
  const t = {
    first: u32(4),
    little,
    // The directory at off: its entries whose values lie inside d, and the next one's offset.
    // A directory is read at most once, so a loop of offsets ends.
    ifd(off) {
      if (seen.has(off) || seen.size >= MAX_IFDS) return null;
      seen.add(off);
      if (off + 2 > d.length) return null;
      const n = u16(off);
      const start = off + 2;
      if (start + 12 * n > d.length) return null;
      const entries = [];
      for (let i = 0; i < n; i++) {
        const p = start + 12 * i;
        const e = { tag: u16(p), type: u16(p + 2), count: u32(p + 4) };
        const length = typeSize(e.type) * e.count;
        if (length === 0) continue;
        e.at = length > 4 ? u32(p + 8) : p + 8;
        if (e.at + length > d.length) continue;
        e.value = d.subarray(e.at, e.at + length);
        entries.push(e);
      }
      const end = start + 12 * n;
      return { entries, next: end + 4 <= d.length ? u32(end) : 0 };
    },
    uint(e) {
      if (e.type === 3 && e.value.length >= 2) return u16(e.at);
      if (e.type === 4 && e.value.length >= 4) return u32(e.at);
      return 0;
    },
    rationals(e) {
      if (!e || e.type !== 5) return null;
      const out = [];
      for (let i = 0; i + 8 <= e.value.length && out.length < 4; i += 8) {
        const den = u32(e.at + i + 4);
        if (den === 0) return null;
        out.push(u32(e.at + i) / den);
      }
      return out.length ? out : null;
    },
    utf16(b, littleEndian) {
      const v = new DataView(b.buffer, b.byteOffset, Math.min(b.length, 5120) & ~1);
      let s = '';
      for (let i = 0; i < v.byteLength; i += 2) s += String.fromCharCode(v.getUint16(i, littleEndian));
      return s;
    },
  };
  return t;
}

// readEXIF adds what EXIF data tells to found and returns the picture's orientation (1, upright,
// when it has none), as keytool's readEXIF.
function readEXIF(d, found) {
  const t = tiff(d);
  const ifd0 = t && t.ifd(t.first);
  if (!ifd0) {
    found.add(OTHER);
    return 1;
  }
  let orientation = 1;
  let exifAt = 0;
  let gpsAt = 0;
  for (const e of ifd0.entries) {
    if (e.type === 2 && IFD0_TAGS.has(e.tag) && hasText(text(upToZero(e.value)))) found.add(IFD0_TAGS.get(e.tag));
    if (e.type === 1 && WINDOWS_TAGS.has(e.tag) && hasText(t.utf16(e.value, true).split('\0')[0])) found.add(WINDOWS_TAGS.get(e.tag));
    if (e.tag === ORIENTATION) {
      const v = t.uint(e);
      if (v >= 1 && v <= 8) orientation = v;
    } else if (e.tag === 0x8769) {
      exifAt = t.uint(e);
    } else if (e.tag === 0x8825) {
      gpsAt = t.uint(e);
    }
  }
  if (exifAt) {
    for (const e of t.ifd(exifAt)?.entries ?? []) {
      if (e.type === 2 && EXIF_TAGS.has(e.tag) && hasText(text(upToZero(e.value)))) found.add(EXIF_TAGS.get(e.tag));
      if (e.tag === 0x9286 && e.value.length >= 8) { // the user's comment, after 8 bytes naming its code
        const comment = e.value.subarray(8);
        const unicode = startsWith(e.value, bytesOf('UNICODE\0'));
        if (hasText(unicode ? t.utf16(comment, t.little) : text(upToZero(comment)))) found.add(OTHER);
      }
      if (e.tag === 0x927c) found.add(DEVICE); // the maker's notes, which can hold a serial number
    }
  }
  if (gpsAt) {
    const gps = new Map((t.ifd(gpsAt)?.entries ?? []).map((e) => [e.tag, e]));
    const degrees = (e) => {
      const v = t.rationals(e);
      if (!v || v.length > 3) return null;
      const d = v.reduce((sum, x, i) => sum + x / 60 ** i, 0);
      return Number.isFinite(d) && d <= 180 ? d : null;
    };
    if (degrees(gps.get(2)) !== null && degrees(gps.get(4)) !== null) found.add(LOCATION);
    if (t.rationals(gps.get(6)) || t.rationals(gps.get(0x11))) found.add(LOCATION); // altitude, direction
    if (t.rationals(gps.get(7))?.length === 3) found.add(TIME);
  }
  if (ifd0.next) {
    const ifd1 = t.ifd(ifd0.next);
    if (ifd1 && ifd1.entries.some((e) => e.tag === 0x0201)) found.add(OTHER); // a preview picture
  }
  return orientation;
}

// orientationTIFF is what keytool clean writes in place of a photo's EXIF (orientationTIFF in
// exif.go): a TIFF structure holding only the orientation, made from the number alone, so that
// a photo taken sideways still opens upright and nothing of the original EXIF is sent.
function orientationTIFF(orientation) {
  return Uint8Array.of(0x4d, 0x4d, 0, 42, 0, 0, 0, 8, // big-endian, IFD0 at offset 8
    0, 1, // one entry
    0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0, // Orientation, SHORT, 1 value
    0, 0, 0, 0); // no next IFD
}

// ---- XMP (keytool/metadata/xmp.go): properties by their local name. ----

const XMP_TAGS = new Map([
  ...['creator', 'rights', 'Artist', 'Author', 'Copyright', 'OwnerName', 'CameraOwnerName', 'AuthorsPosition',
    'CaptionWriter', 'Credit', 'CiAdrExtadr', 'CiAdrCity', 'CiAdrRegion', 'CiAdrPcode', 'CiAdrCtry', 'CiEmailWork',
    'CiTelWork', 'CiUrlWork'].map((n) => [n, PERSON]),
  ...['CreateDate', 'ModifyDate', 'MetadataDate', 'DateTimeOriginal', 'DateCreated', 'when'].map((n) => [n, TIME]),
  ...['GPSLatitude', 'GPSLongitude', 'GPSAltitude', 'City', 'State', 'ProvinceState', 'Country', 'CountryName',
    'CountryCode', 'Location', 'Sublocation', 'WorldRegion'].map((n) => [n, LOCATION]),
  ...['Make', 'Model', 'SerialNumber', 'BodySerialNumber', 'LensSerialNumber', 'Lens', 'LensModel'].map((n) => [n, DEVICE]),
  ...['CreatorTool', 'Producer', 'softwareAgent', 'title', 'description', 'subject', 'Keywords', 'Headline',
    'DocumentID', 'OriginalDocumentID'].map((n) => [n, OTHER]),
]);
const MAX_XMP_TOKENS = 100000;
const MAX_XMP_DEPTH = 64;
const localName = (name) => name.slice(name.lastIndexOf(':') + 1);

// readXMP reads an XMP packet as a stream of tags and text, as keytool does: a property is an
// attribute or an element, and an element's value is its text or that of an rdf:li up to two
// levels inside it. It looks for each delimiter once (indexOf), so that no packet, however it
// is made, costs more than one pass over it; a packet that stops inside a tag is listed for
// what it is.
function readXMP(b, found) {
  const s = new TextDecoder().decode(b);
  const stack = [];
  const chars = (t) => {
    if (!t.trim()) return;
    for (let i = stack.length - 1; i >= 0 && i >= stack.length - 3; i--) {
      if (XMP_TAGS.has(stack[i])) {
        if (hasText(t)) found.add(XMP_TAGS.get(stack[i]));
        return;
      }
    }
  };
  let at = 0;
  for (let tokens = 0; at < s.length; tokens++) {
    if (tokens === MAX_XMP_TOKENS) break;
    if (s[at] !== '<') {
      const next = s.indexOf('<', at);
      const end = next < 0 ? s.length : next;
      chars(s.slice(at, end));
      at = end;
      continue;
    }
    const [open, close] = s.startsWith('<!--', at) ? ['<!--', '-->'] : s.startsWith('<![CDATA[', at) ? ['<![CDATA[', ']]>'] : ['<', '>'];
    const end = s.indexOf(close, at + open.length);
    if (end < 0) break;
    const tag = s.slice(at + open.length, end);
    at = end + close.length;
    if (open === '<![CDATA[') chars(tag);
    if (open !== '<' || tag[0] === '?' || tag[0] === '!') continue;
    if (tag[0] === '/') {
      stack.pop();
      continue;
    }
    const name = /^[^\s/]*/.exec(tag)[0];
    for (let from = name.length, eq; (eq = tag.indexOf('=', from)) >= 0;) {
      let q = eq + 1;
      while (/\s/.test(tag[q] ?? '')) q++;
      const last = tag.indexOf(tag[q], q + 1);
      if ((tag[q] !== '"' && tag[q] !== "'") || last < 0) break;
      const kind = XMP_TAGS.get(localName(tag.slice(from, eq).trim()));
      if (kind && hasText(tag.slice(q + 1, last))) found.add(kind);
      from = last + 1;
    }
    if (stack.length === MAX_XMP_DEPTH) {
      found.add(OTHER);
      return;
    }
    if (!tag.endsWith('/')) stack.push(localName(name));
  }
  if (at < s.length) found.add(OTHER); // more parts than keytool reads, or a packet cut off in a tag
}

// ---- IPTC inside Photoshop's image resources (keytool/metadata/iptc.go). ----

const IPTC_TAGS = new Map([
  [5, OTHER], [25, OTHER], [55, TIME], [60, TIME], [62, TIME], [65, OTHER], [80, PERSON], [85, PERSON],
  [90, LOCATION], [92, LOCATION], [95, LOCATION], [100, LOCATION], [101, LOCATION], [110, PERSON],
  [115, PERSON], [116, PERSON], [118, PERSON], [120, OTHER], [122, PERSON],
]);

function readIRB(b, found) {
  while (b.length >= 12) {
    if (!['8BIM', 'MeSa', 'PHUT', 'AgHg', 'DCSR'].includes(latin1(b.subarray(0, 4)))) return;
    const id = (b[4] << 8) | b[5];
    let p = 6 + b[6] + 1;
    p += p % 2;
    if (p + 4 > b.length) return;
    const size = u32be(b, p);
    p += 4;
    if (p + size > b.length) return;
    const resource = b.subarray(p, p + size);
    if (id === 0x0404) readIPTC(resource, found);
    else if (id === 0x0424) readXMP(resource, found);
    else if (id === 0x0422 || id === 0x0423) readEXIF(resource, found);
    else if (id === 0x0409 || id === 0x040c) found.add(OTHER); // a thumbnail
    p += size + (size % 2);
    b = b.subarray(Math.min(p, b.length));
  }
}

function readIPTC(b, found) {
  while (b.length >= 5 && b[0] === 0x1c) {
    const record = b[1];
    const dataset = b[2];
    let n = (b[3] << 8) | b[4];
    let head = 5;
    if (n & 0x8000) {
      const count = n & 0x7fff;
      if (count === 0 || count > 4 || 5 + count > b.length) return;
      n = 0;
      for (const c of b.subarray(5, 5 + count)) n = n * 256 + c;
      head += count;
    }
    if (head + n > b.length) {
      found.add(OTHER);
      return;
    }
    if (record === 2 && IPTC_TAGS.has(dataset) && hasText(text(b.subarray(head, head + n)))) found.add(IPTC_TAGS.get(dataset));
    b = b.subarray(head + n);
  }
}

// ---- JPEG (keytool/metadata/jpeg.go): marker segments, and each scan's compressed data. ----

// walkJPEG calls part for each part of the file, {marker, start, end, payload} (marker 0 for a
// scan's compressed data), and returns what follows the end marker, or null when the file stops
// before it. It throws where the structure breaks, as keytool refuses such a file.
function walkJPEG(d, part) {
  if (!(d[0] === 0xff && d[1] === SOI)) throw new Error('not a JPEG file');
  part({ marker: SOI, start: 0, end: 2 });
  let pos = 2;
  while (pos < d.length) {
    if (d[pos] !== 0xff) throw new Error(`the JPEG structure breaks at byte ${pos}`);
    const start = pos;
    while (pos + 1 < d.length && d[pos + 1] === 0xff) pos++; // fill bytes before a marker
    if (pos + 1 >= d.length) return null;
    const marker = d[pos + 1];
    pos += 2;
    if (marker === EOI) {
      part({ marker, start, end: pos });
      return d.subarray(pos);
    }
    if (marker === 0 || marker === SOI) throw new Error(`the JPEG structure breaks at byte ${start}`);
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { // TEM and RSTn have no length
      part({ marker, start, end: pos });
      continue;
    }
    if (pos + 2 > d.length) return null;
    const length = (d[pos] << 8) | d[pos + 1];
    if (length < 2 || pos + length > d.length) throw new Error(`a JPEG segment at byte ${start} is longer than the file`);
    const payload = d.subarray(pos + 2, pos + length);
    pos += length;
    part({ marker, start, end: pos, payload });
    if (marker === SOS) {
      const end = scanEnd(d, pos);
      part({ marker: 0, start: pos, end });
      pos = end;
    }
  }
  return null;
}

// scanEnd finds where compressed data from pos ends: at the next 0xFF that is neither a stuffed
// 0xFF00 nor a restart marker, or at the end of the file.
function scanEnd(d, pos) {
  for (;;) {
    const i = d.indexOf(0xff, pos);
    if (i < 0) return d.length;
    let next = i + 1;
    while (next < d.length && d[next] === 0xff) next++;
    if (next >= d.length) return d.length;
    const m = d[next];
    if (m !== 0 && !(m >= 0xd0 && m <= 0xd7)) return i;
    pos = next + 1;
  }
}

// keptJPEG tells the parts keytool clean keeps: all but APPn and COM, and of these the JFIF
// header, the ICC colour profile and Adobe's colour transform, which decoding or colour needs.
function keptJPEG(p) {
  if (p.marker === APP0) return startsWith(p.payload, JFIF);
  if (p.marker === APP2) return startsWith(p.payload, ICC);
  if (p.marker === APP14) return startsWith(p.payload, ADOBE);
  return p.marker !== COM && !(p.marker >= APP0 && p.marker <= 0xef);
}

function readJPEG(d, depth, found) {
  const trailing = walkJPEG(d, (p) => {
    const b = p.payload;
    if (p.marker === APP1 && startsWith(b, EXIF)) readEXIF(b.subarray(EXIF.length), found);
    else if (p.marker === APP1 && startsWith(b, XMP)) readXMP(b.subarray(XMP.length), found);
    else if (p.marker === APP1 && startsWith(b, XMP_EXTENDED)) found.add(OTHER);
    else if (p.marker === APP13 && startsWith(b, IRB)) readIRB(b.subarray(IRB.length), found);
    else if (p.marker === COM) { if (hasText(text(b))) found.add(OTHER); }
    else if (p.marker === APP0 && startsWith(b, JFXX)) found.add(OTHER); // a preview picture
    else if (!keptJPEG(p)) found.add(OTHER); // any other APPn segment
  });
  if (!trailing || trailing.every((c) => c === 0)) return;
  found.add(OTHER); // data after the picture's end: a second picture, the phone's own data
  if (depth < 3 && formatOf(trailing) === 'JPEG') {
    try {
      readJPEG(trailing, depth + 1, found);
    } catch { /* what it told before it broke is kept, as keytool keeps it */ }
  }
}

function cleanJPEG(d) {
  let orientation = 1;
  walkJPEG(d, (p) => {
    if (p.marker === APP1 && startsWith(p.payload, EXIF) && orientation === 1) orientation = readEXIF(p.payload.subarray(EXIF.length), new Set());
  });
  const out = [];
  let length = 0;
  const write = (b) => {
    out.push(b);
    length += b.length;
  };
  const jfifNext = d.length >= 6 + JFIF.length && d[2] === 0xff && d[3] === APP0 && startsWith(d, JFIF, 6);
  walkJPEG(d, (p) => {
    if (!keptJPEG(p)) return;
    const part = d.subarray(p.start, p.end);
    write(part);
    // The orientation goes after SOI and a JFIF header right behind it, where viewers look.
    if (orientation !== 1 && (p.marker === SOI || (p.marker === APP0 && length === 2 + part.length))) {
      if (p.marker === SOI && jfifNext) return;
      const segment = concat([EXIF, orientationTIFF(orientation)]);
      write(Uint8Array.of(0xff, APP1, 0, segment.length + 2));
      write(segment);
    }
  });
  return concat(out);
}

// ---- PNG (keytool/metadata/png.go): chunks. ----

function walkPNG(d) {
  if (!startsWith(d, PNG_SIGNATURE)) throw new Error('not a PNG file');
  const chunks = [];
  let pos = PNG_SIGNATURE.length;
  while (pos < d.length) {
    if (pos + 12 > d.length) throw new Error(`a PNG chunk at byte ${pos} is cut off`);
    const n = u32be(d, pos);
    const type = latin1(d.subarray(pos + 4, pos + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) throw new Error(`the PNG structure breaks at byte ${pos}`);
    const end = pos + 12 + n;
    if (end > d.length) throw new Error(`a PNG chunk at byte ${pos} is longer than the file`);
    chunks.push({ type, start: pos, end, data: d.subarray(pos + 8, end - 4) });
    pos = end;
    if (type === 'IEND') return { chunks, trailing: d.subarray(pos) };
  }
  return { chunks, trailing: null };
}

// keptPNG tells the chunks keytool clean keeps: the critical ones, and those about colour,
// transparency, pixel size and animation.
const KEPT_PNG = new Set(['tRNS', 'gAMA', 'cHRM', 'sRGB', 'iCCP', 'sBIT', 'cICP', 'mDCv', 'cLLi', 'pHYs', 'bKGD', 'acTL', 'fcTL', 'fdAT']);
const keptPNG = (type) => (type[0] >= 'A' && type[0] <= 'Z') || KEPT_PNG.has(type);

const PNG_TEXT_TAGS = new Map([['Author', PERSON], ['Copyright', PERSON], ['Creation Time', TIME], ['Software', OTHER], ['Source', DEVICE]]);

// inflate decompresses zlib data, at most limit bytes of it (keytool's maxInflated): a small
// chunk cannot make the page fill its memory. It tells whether the data broke off or was
// damaged: keytool keeps what came before the damage, but a browser drops what the last piece
// it was given would have yielded, so the page cannot always read as far as keytool does.
async function inflate(b, limit) {
  const parts = [];
  let n = 0;
  let damaged = false;
  try {
    const reader = new Blob([b]).stream().pipeThrough(new DecompressionStream('deflate')).getReader();
    while (n < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      n += value.length;
    }
    reader.cancel().catch(() => {});
  } catch {
    damaged = true;
  }
  return { value: concat(parts).subarray(0, limit), damaged };
}

async function readPNGText(c, found) {
  const zero = c.data.indexOf(0);
  if (zero < 0) return;
  const keyword = latin1(c.data.subarray(0, zero));
  const rest = c.data.subarray(zero + 1);
  const limit = keyword === 'XML:com.adobe.xmp' ? 1 << 20 : 64 << 10;
  let value = rest;
  let damaged = false;
  if (c.type === 'zTXt') {
    if (rest.length < 1) return;
    ({ value, damaged } = await inflate(rest.subarray(1), limit));
  } else if (c.type === 'iTXt') {
    if (rest.length < 2) return;
    const language = rest.indexOf(0, 2);
    const translated = language < 0 ? -1 : rest.indexOf(0, language + 1);
    if (translated < 0) return;
    value = rest.subarray(translated + 1);
    if (rest[0] === 1) ({ value, damaged } = await inflate(value, limit));
  }
  // A damaged compressed text may hold more than the page could read of it, and keytool may
  // read further: the page names it by its keyword (Author is a person), or as something else.
  if (damaged) found.add(PNG_TEXT_TAGS.get(keyword) ?? OTHER);
  if (keyword === 'XML:com.adobe.xmp') {
    readXMP(value, found);
  } else if (keyword.startsWith('Raw profile type ')) {
    // ImageMagick's raw profiles: a line, the profile's name and length, then hexadecimal digits.
    const lines = latin1(value).replace(/^\n+/, '').split('\n');
    if (lines.length < 3) return;
    const digits = lines.slice(2).join('\n').replace(/[^0-9a-fA-F]/g, '');
    const raw = new Uint8Array(digits.length >> 1).map((_, i) => parseInt(digits.substr(2 * i, 2), 16));
    const kind = keyword.slice('Raw profile type '.length);
    if (kind === 'exif' || kind === 'APP1') readEXIF(startsWith(raw, EXIF) ? raw.subarray(EXIF.length) : raw, found);
    else if (kind === 'xmp') readXMP(raw, found);
    else if (kind === 'iptc' || kind === '8bim') readIRB(raw, found);
    else found.add(OTHER);
  } else if (hasText(text(value))) {
    found.add(PNG_TEXT_TAGS.get(keyword) ?? OTHER);
  }
}

async function readPNG(d, found) {
  const { chunks, trailing } = walkPNG(d);
  for (const c of chunks) {
    if (c.type === 'tEXt' || c.type === 'zTXt' || c.type === 'iTXt') await readPNGText(c, found);
    else if (c.type === 'eXIf') readEXIF(c.data, found);
    else if (c.type === 'tIME') { if (c.data.length === 7) found.add(TIME); }
    else if (!keptPNG(c.type)) found.add(OTHER);
  }
  if (trailing && trailing.some((c) => c !== 0)) found.add(OTHER);
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

function pngChunk(type, data) {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(bytesOf(type), 4);
  out.set(data, 8);
  let crc = 0xffffffff;
  for (const c of out.subarray(4, 8 + data.length)) crc = CRC_TABLE[(crc ^ c) & 0xff] ^ (crc >>> 8);
  view.setUint32(8 + data.length, (crc ^ 0xffffffff) >>> 0);
  return out;
}

function cleanPNG(d) {
  const { chunks } = walkPNG(d);
  let orientation = 1;
  for (const c of chunks) {
    if (c.type === 'eXIf' && orientation === 1) orientation = readEXIF(c.data, new Set());
  }
  const out = [PNG_SIGNATURE];
  for (const c of chunks) {
    if (!keptPNG(c.type)) continue;
    out.push(d.subarray(c.start, c.end));
    if (c.type === 'IHDR' && orientation !== 1) out.push(pngChunk('eXIf', orientationTIFF(orientation)));
  }
  return concat(out);
}

// ---- What the page calls. ----

/**
 * What hidden details a JPEG or PNG file's bytes hold: a Set of what they tell (location,
 * device, person, time, other). Throws for a file whose structure breaks, as keytool refuses it.
 */
export async function readDetails(bytes) {
  const found = new Set();
  const format = formatOf(bytes);
  if (format === 'JPEG') readJPEG(bytes, 0, found);
  else if (format === 'PNG') await readPNG(bytes, found);
  else throw new Error('not a JPEG or PNG file');
  return found;
}

/**
 * The copy of a JPEG or PNG file without its hidden details that keytool clean makes, byte for
 * byte. It checks its own work, as keytool does: a copy in which anything is still found is an
 * error, not a result.
 */
export async function removeDetails(bytes) {
  const copy = formatOf(bytes) === 'JPEG' ? cleanJPEG(bytes) : cleanPNG(bytes);
  const left = await readDetails(copy);
  if (left.size) throw new Error(`the copy still holds details (${[...left]})`);
  return copy;
}

// HEIF's brands (HEIC photos of iPhones, AVIF): files this page cannot change.
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs', 'mif1', 'mif2', 'msf1', 'avif', 'avis']);
const UNCHANGEABLE_NAME = /\.(heic|heif|hif|avif|tiff?|dng)$/i;
const UNCHANGEABLE_TYPE = /^image\/(heic|heif|avif|tiff)/i;

// unchangeable tells a photo that can carry hidden details this page cannot read or remove:
// HEIF (HEIC, AVIF), TIFF and the raw formats built on it, a WebP whose header says it holds
// EXIF or XMP; or, when its first bytes do not tell, a name or type of these formats.
function unchangeable(head, file) {
  if (latin1(head.subarray(4, 8)) === 'ftyp') {
    const end = Math.min(u32be(head, 0), head.length);
    for (let at = 8; at + 4 <= end; at += at === 8 ? 8 : 4) { // the major brand, then the compatible ones
      if (HEIF_BRANDS.has(latin1(head.subarray(at, at + 4)))) return true;
    }
    return false;
  }
  if (startsWith(head, bytesOf('II*\0')) || startsWith(head, bytesOf('MM\0*'))) return true;
  if (latin1(head.subarray(0, 4)) === 'RIFF' && latin1(head.subarray(8, 16)) === 'WEBPVP8X') return (head[20] & 0x0c) !== 0;
  return UNCHANGEABLE_NAME.test(file.name) || UNCHANGEABLE_TYPE.test(file.type);
}

// A video's file type box names brands such as isom, mp42, qt or 3gp4; audio has its own.
const AUDIO_BRANDS = new Set(['M4A ', 'M4B ', 'M4P ', 'F4A ', 'F4B ']);
const VIDEO_NAME = /\.(mp4|m4v|mov|qt|3gp|3g2|avi|mkv|webm|mts|m2ts)$/i;

// video tells a video, which can carry where it was filmed (phones write it into MP4 and
// QuickTime files) and which this page cannot read or change: an ISO or QuickTime file type box
// that is neither HEIF nor audio, a Matroska or WebM header, an AVI header, or, when its first
// bytes do not tell, its name or type.
function video(head, file) {
  if (latin1(head.subarray(4, 8)) === 'ftyp') return !AUDIO_BRANDS.has(latin1(head.subarray(8, 12))) && !file.type.startsWith('audio/');
  if (startsWith(head, Uint8Array.of(0x1a, 0x45, 0xdf, 0xa3))) return true;
  if (latin1(head.subarray(0, 4)) === 'RIFF' && latin1(head.subarray(8, 12)) === 'AVI ') return true;
  return VIDEO_NAME.test(file.name) || file.type.startsWith('video/');
}

// look reads one chosen file: {told} (the details the page asks about, in the order it names
// them) for a JPEG or PNG that holds some, {warn} (the key of the warning) for a photo it cannot
// check or change or for a video, or {} for anything else.
async function look(file) {
  const head = new Uint8Array(await file.slice(0, 64).arrayBuffer());
  if (!formatOf(head)) {
    if (unchangeable(head, file)) return { warn: 'photosCannot' };
    return video(head, file) ? { warn: 'photosVideo' } : {};
  }
  let found;
  try {
    found = await readDetails(new Uint8Array(await file.arrayBuffer()));
  } catch (err) {
    console.error(err); // stays on this device
    return { warn: 'photosCannot' };
  }
  const told = [...ASKED, TIME].filter((k) => found.has(k));
  return ASKED.some((k) => found.has(k)) ? { told } : {};
}

// sentence fills a message: {name} with the file's name, isolated so that its direction does not
// reorder the sentence around it, and {details} with the list.
function sentence(message, name, details = '') {
  const p = document.createElement('p');
  for (const piece of message.split(/(\{name\}|\{details\})/)) {
    if (piece === '{name}') p.append(Object.assign(document.createElement('bdi'), { textContent: name }));
    else p.append(piece === '{details}' ? details : piece);
  }
  return p;
}

const latest = new WeakMap(); // a file field's box → its latest question

/**
 * Reads the files chosen in input and, under it in box, says which photos hold hidden details
 * that can name or place the person, and asks whether to remove them (or says that this page
 * cannot, for HEIC and other formats, and videos). msg(key) is the page's string for a key; lang
 * names the page's language; answered() is called once the person answered (and the files may
 * have been replaced by their copies). Resolves to the question: open() while the person has not
 * answered, focus() to bring them to it.
 */
export async function offer(input, box, msg, lang, answered) {
  const note = box.querySelector('[role=status]');
  const choice = box.querySelector('[role=group]');
  const [remove, keep] = choice.querySelectorAll('button');
  const question = { open: () => latest.get(box) === question && !choice.hidden, focus: () => remove.focus() };
  latest.set(box, question);
  choice.hidden = true;
  note.replaceChildren();

  const files = [...input.files];
  const looks = [];
  for (const file of files) looks.push({ file, ...(await look(file)) });
  if (latest.get(box) !== question) return question; // other files were chosen meanwhile

  const list = (kinds) => {
    const words = kinds.map((k) => msg({ location: 'photosWhere', device: 'photosDevice', person: 'photosName', time: 'photosWhen' }[k]));
    return globalThis.Intl && Intl.ListFormat ? new Intl.ListFormat(lang, { type: 'conjunction' }).format(words) : words.join(', ');
  };
  const cannot = () => looks.filter((l) => l.warn).map((l) => sentence(msg(l.warn), l.file.name));
  const asked = looks.filter((l) => l.told);
  if (asked.length) {
    note.append(...asked.map((l) => sentence(msg('photosFound'), l.file.name, list(l.told))), sentence(msg('photosRisk')));
  }
  note.append(...cannot());
  if (!asked.length) return question;

  const answer = (...said) => {
    choice.hidden = true;
    note.replaceChildren(...said, ...cannot());
    note.focus(); // the buttons are gone: the focus stays where the answer is
    answered();
  };
  keep.onclick = () => answer(sentence(msg('photosKept')));
  remove.onclick = async () => {
    remove.disabled = true;
    keep.disabled = true;
    const copies = new DataTransfer();
    const failed = [];
    for (const file of files) {
      let copy = file;
      if (asked.some((l) => l.file === file)) {
        try {
          const bytes = await removeDetails(new Uint8Array(await file.arrayBuffer()));
          copy = new File([bytes], file.name, { type: file.type, lastModified: file.lastModified });
        } catch (err) {
          console.error(err); // stays on this device
          failed.push(sentence(msg('photosCannot'), file.name));
        }
      }
      copies.items.add(copy);
    }
    remove.disabled = false;
    keep.disabled = false;
    if (latest.get(box) !== question) return;
    input.files = copies.files;
    answer(...(failed.length < asked.length ? [sentence(msg('photosRemoved'))] : []), ...failed);
  };
  choice.hidden = false;
  return question;
}
