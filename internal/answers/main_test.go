package answers_test

import (
	"testing"

	"github.com/safe-complaints/dropbox/internal/policy/policytest"
)

// TestMain removes the shared test keys (used to build a public-key message) when the tests are done.
func TestMain(m *testing.M) { policytest.Main(m) }
