package policy_test

import (
	"testing"

	"github.com/safe-complaints/dropbox/internal/policy/policytest"
)

// TestMain removes the shared test keys when the tests are done.
func TestMain(m *testing.M) { policytest.Main(m) }
