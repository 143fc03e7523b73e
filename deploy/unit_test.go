package deploy

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// maxExposure is the limit for the unit: systemd calls 1.5 and below "OK".
const maxExposure = 1.5

// The unit is hardened as systemd itself judges it: systemd-analyze security, offline, on the
// file as shipped. Its exposure (0 to 10, lower is safer) must stay at most 1.5, and the unit
// must keep the settings the drop box's safety rests on, whatever the score says.
func TestTheUnitIsHardened(t *testing.T) {
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is missing: install Debian's systemd package (make deps does)")
	}
	cmd := exec.Command(tool, "security", "--offline=true", "--no-pager", "complaints-dropbox.service")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for complaints-dropbox\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	exposure, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exposure %.1f (limit %.1f)", exposure, maxExposure)
	if exposure > maxExposure {
		t.Errorf("exposure %.1f is over %.1f:\n%s", exposure, maxExposure, out)
	}
	for _, must := range []string{
		`(?m)^User=complaints$`, `(?m)^NoNewPrivileges=yes$`, `(?m)^CapabilityBoundingSet=$`,
		`(?m)^ProtectSystem=strict$`, `(?m)^PrivateTmp=yes$`, `(?m)^PrivateDevices=yes$`,
		`(?m)^IPAddressDeny=any$`, `(?m)^IPAddressAllow=localhost$`, `(?m)^SystemCallFilter=@system-service$`,
		`(?m)^UMask=0077$`, `(?m)^MemoryDenyWriteExecute=yes$`,
	} {
		if !regexp.MustCompile(must).Match(unit(t)) {
			t.Errorf("the unit lacks %s", must)
		}
	}
}

func unit(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile("complaints-dropbox.service")
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
