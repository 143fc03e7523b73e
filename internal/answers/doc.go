// Package answers is the two-way channel of docs/format.md, "Answers and follow-up": the codename
// a person keeps, what is derived from it (the token that opens their mailbox, the lookup the
// server files answers under, the passphrase answers are encrypted with, the case that ties
// follow-ups together), the plaintext format of an answer, and the one OpenPGP shape an encrypted
// answer may have. The browser, the drop box and keytool must agree on all of it byte for byte;
// testdata/answers holds the vectors that prove they do.
package answers
