package answers_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/safe-complaints/dropbox/internal/answers"
)

func TestPaddedSize(t *testing.T) {
	for _, c := range []struct{ n, want int64 }{
		{1, 4 << 10}, {4 << 10, 4 << 10}, {4<<10 + 1, 16 << 10}, {16<<10 + 1, 64 << 10},
		{64<<10 + 1, 256 << 10}, {256 << 10, 256 << 10}, {256<<10 + 1, 1 << 20}, {1<<20 + 1, 2 << 20},
		{int64(len(answers.Magic) + answers.MaxHeader + answers.MaxText + answers.MaxAttachmentBytes), answers.MaxPlaintext},
	} {
		if got := answers.PaddedSize(c.n); got != c.want {
			t.Errorf("PaddedSize(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// encryptedSize writes a as keytool reply does, its attachments' bytes written in pieces of
// piece bytes, and returns the plaintext's and the ciphertext's sizes.
func encryptedSize(t *testing.T, a *answers.Answer, piece int) (plain, cipher int) {
	t.Helper()
	var ct, pt bytes.Buffer
	enc, err := answers.Encrypt(&ct, "9hc6XylVAi6zJZFNkBnHVIArd4bxDkLsD2eDFHS9ztQ")
	if err != nil {
		t.Fatal(err)
	}
	w, err := answers.NewWriter(io.MultiWriter(enc, &pt), a)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, at := range a.Attachments {
		total += at.Size
	}
	for ; total > 0; total -= int64(piece) {
		if _, err := w.Write(make([]byte, min(total, int64(piece)))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return pt.Len(), ct.Len()
}

// TestAnswersInOneBucketHaveOneSize: the plaintext and the ciphertext of every answer in a bucket
// have the same size, whatever its text, its attachments and the way they were written.
func TestAnswersInOneBucketHaveOneSize(t *testing.T) {
	buckets := []struct {
		plain   int
		answers []*answers.Answer
	}{
		{4 << 10, []*answers.Answer{
			{Lang: "de", Day: "2026-11-30"},
			{Lang: "de", Day: "2026-11-30", Text: "Danke."},
			{Lang: "ar", Day: "2026-11-30", Text: strings.Repeat("شكرا ", 300)},
			{Lang: "nl", Day: "2026-11-30", Text: "Zie bijlage.", Attachments: []answers.Attachment{{Name: "a.pdf", Size: 3000}}},
		}},
		{256 << 10, []*answers.Answer{
			{Lang: "en", Day: "2026-11-30", Text: strings.Repeat("x", 70<<10)},
			{Lang: "en", Day: "2026-11-30", Text: strings.Repeat("y", answers.MaxText)[:200<<10]},
			{Lang: "en", Day: "2026-11-30", Attachments: []answers.Attachment{{Name: "a", Size: 100 << 10}, {Name: "b", Size: 150 << 10}}},
		}},
		{3 << 20, []*answers.Answer{
			{Lang: "en", Day: "2026-11-30", Attachments: []answers.Attachment{{Name: "a", Size: 2<<20 + 1}}},
			{Lang: "en", Day: "2026-11-30", Text: "photos", Attachments: []answers.Attachment{{Name: "a", Size: 1 << 20}, {Name: "b", Size: 1<<20 + 1000}}},
		}},
	}
	for _, b := range buckets {
		cipher := 0
		for i, a := range b.answers {
			for _, piece := range []int{1000, 32 << 10, 1 << 20} {
				p, c := encryptedSize(t, a, piece)
				if p != b.plain {
					t.Errorf("answer %d of the %d bucket: plaintext %d bytes", i, b.plain, p)
				}
				if cipher == 0 {
					cipher = c
					t.Logf("bucket %d bytes: ciphertext %d bytes", b.plain, c)
				}
				if c != cipher {
					t.Errorf("answer %d of the %d bucket, written in pieces of %d: ciphertext %d bytes, another %d", i, b.plain, piece, c, cipher)
				}
			}
		}
	}
}

// TestTheSizeDigitsAtABucketsEnd: an answer whose size's digits would not fit in its bucket
// takes the next one, and every length around a bucket's end reads back.
func TestTheSizeDigitsAtABucketsEnd(t *testing.T) {
	for n := 4<<10 - 120; n <= 4<<10; n++ {
		a := &answers.Answer{Lang: "de", Day: "2026-11-30", Text: strings.Repeat("x", n-80)}
		var buf bytes.Buffer
		w, err := answers.NewWriter(&buf, a)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != 4<<10 && buf.Len() != 16<<10 {
			t.Fatalf("text of %d bytes: %d bytes", n-80, buf.Len())
		}
		if err := readAll(buf.Bytes()); err != nil {
			t.Fatalf("text of %d bytes: %v", n-80, err)
		}
	}
}

// TestTheLargestAnswerFits: the largest answer the format allows pads to MaxPlaintext and
// encrypts to less than MaxCiphertext.
func TestTheLargestAnswerFits(t *testing.T) {
	a := &answers.Answer{Lang: "en", Day: "2026-11-30", Text: strings.Repeat("x", answers.MaxText)}
	for i := range answers.MaxAttachments {
		a.Attachments = append(a.Attachments, answers.Attachment{Name: strings.Repeat("n", 250) + string(rune('0'+i%10)), Type: strings.Repeat("t", 255), Size: answers.MaxAttachmentBytes / answers.MaxAttachments})
	}
	plain, cipher := encryptedSize(t, a, 1<<20)
	t.Logf("the largest answer: plaintext %d bytes, ciphertext %d bytes", plain, cipher)
	if plain != answers.MaxPlaintext || cipher > answers.MaxCiphertext {
		t.Errorf("plaintext %d bytes (MaxPlaintext %d), ciphertext %d bytes (MaxCiphertext %d)", plain, answers.MaxPlaintext, cipher, answers.MaxCiphertext)
	}
}
