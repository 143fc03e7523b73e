package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings []debug.BuildSetting
		want     string
	}{
		{"a release from a clean checkout", []debug.BuildSetting{
			{Key: "vcs.revision", Value: "1188fed5c0ffee"}, {Key: "vcs.time", Value: "2026-11-30T16:10:00Z"}, {Key: "vcs.modified", Value: "false"},
		}, "v0.0.0-20261130161000-1188fed5c0ff (commit 1188fed5c0ffee of 2026-11-30T16:10:00Z, built with go1.26.8)"},
		{"changes not committed", []debug.BuildSetting{
			{Key: "vcs.revision", Value: "1188fed5c0ffee"}, {Key: "vcs.time", Value: "2026-11-30T16:10:00Z"}, {Key: "vcs.modified", Value: "true"},
		}, "v0.0.0-20261130161000-1188fed5c0ff (commit 1188fed5c0ffee of 2026-11-30T16:10:00Z with changes that were not committed, built with go1.26.8)"},
		{"no git", nil, "v0.0.0-20261130161000-1188fed5c0ff (built outside a git checkout, so no commit recorded, built with go1.26.8)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261130161000-1188fed5c0ff"}, Settings: tc.settings}
			if got := describe(bi); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
