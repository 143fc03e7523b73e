// The codename and what is derived from it (docs/format.md, "Answers and follow-up"), as the
// browser computes it: crypto.getRandomValues for the digits, WebCrypto's PBKDF2, HKDF and
// SHA-256 for the derivations. Native, so no WebAssembly and no JIT are needed (Tor Browser at
// "Safer" has neither). Used by the form (a new codename for each complaint) and the answers
// page; testdata/answers/check.mjs checks it against the Go implementation's vectors.

const RANDOM_DIGITS = 25;
export const DIGITS = RANDOM_DIGITS + 1;
const ITERATIONS = 600000;
const HYPHENS = '-\u2010\u2011\u2012\u2013\u2212\uFE63\uFF0D';
// H. M. Damm's totally anti-symmetric quasigroup of order 10: row = interim digit, column = digit.
const DAMM = ['0317598642', '7092154863', '4206871359', '1750983426', '6123045978',
  '3674209581', '5869720134', '8945362017', '9438617205', '2581436790'];

function damm(digits) {
  let interim = 0;
  for (const d of digits) interim = Number(DAMM[interim][d]);
  return interim;
}

/** A new codename: 25 random digits and their Damm check digit, as 26 ASCII digits. */
export function newCodename() {
  const digits = [];
  const bytes = new Uint8Array(64);
  while (digits.length < RANDOM_DIGITS) {
    crypto.getRandomValues(bytes);
    for (const b of bytes) {
      if (b < 250 && digits.length < RANDOM_DIGITS) digits.push(b % 10); // 250..255 would bias 0..5
    }
  }
  bytes.fill(0);
  digits.push(damm(digits));
  return digits.join('');
}

/** The codename as it is shown: groups of five digits. */
export function group(digits) {
  return digits.replace(/(\d{5})(?=\d)/g, '$1 ');
}

/**
 * Reads what a person typed: separators dropped, a digit of any script read as its value.
 * Returns {digits} or {error: 'character', position, char} | {error: 'length', count} |
 * {error: 'check'}.
 */
export function parseCodename(input) {
  const digits = [];
  let position = 0;
  for (const ch of input) {
    position++;
    if (/\p{White_Space}/u.test(ch) || HYPHENS.includes(ch)) continue;
    if (!/\p{Nd}/u.test(ch)) return { error: 'character', position, char: ch };
    // Unicode encodes every Nd digit in runs of ten, 0 to 9 in order.
    let start = ch.codePointAt(0);
    while (/\p{Nd}/u.test(String.fromCodePoint(start - 1))) start--;
    digits.push((ch.codePointAt(0) - start) % 10);
  }
  if (digits.length !== DIGITS) return { error: 'length', count: digits.length };
  if (damm(digits) !== 0) return { error: 'check' };
  return { digits: digits.join('') };
}

const utf8 = (s) => new TextEncoder().encode(s);
const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
const base64url = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/**
 * Derives the codename's values at one organisation: {k, token, lookup, answer_pass, case},
 * each as docs/format.md writes it (hex, or base64url for answer_pass). The slow step is
 * PBKDF2's 600,000 iterations: about 0.1 s.
 */
export async function deriveKeys(digits, org) {
  const { subtle } = crypto;
  const password = await subtle.importKey('raw', utf8(digits), 'PBKDF2', false, ['deriveBits']);
  const k = await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: utf8(`complaint-answers/1:${org}`), iterations: ITERATIONS }, password, 256);
  const ikm = await subtle.importKey('raw', k, 'HKDF', false, ['deriveBits']);
  const hkdf = (info, n) => subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: utf8(info) }, ikm, n * 8);
  const token = await hkdf('complaint-answers/1 mailbox', 16);
  return {
    k: hex(k),
    token: hex(token),
    lookup: hex(await subtle.digest('SHA-256', token)),
    answer_pass: base64url(await hkdf('complaint-answers/1 answer-key', 32)),
    case: hex(await hkdf('complaint-answers/1 case', 16)),
  };
}

/** The submission's followup value for the first complaint sent with a codename. */
export function followupFirst(keys, org) {
  return { lookup: keys.lookup, answer_pass: keys.answer_pass, case: keys.case, org };
}

/** The followup value of every later submission with the same codename. */
export function followupLater(keys) {
  return { case: keys.case };
}
