package site

import (
	"os"
	"path/filepath"
	"testing"
)

// A follow-up sent from the answers page names the procedure "follow-up" (docs/answers.md), so
// that staff and keytool tell it from a complaint: no procedure or form may take that slug.
func TestNoProcedureTakesTheFollowUpSlug(t *testing.T) {
	for _, section := range []string{"procedures", "forms"} {
		if _, err := os.Stat(filepath.Join("..", "content", section, "follow-up")); err == nil {
			t.Errorf("content/%s/follow-up: the slug follow-up is reserved for follow-ups sent with a codename; name the procedure otherwise", section)
		}
	}
}
