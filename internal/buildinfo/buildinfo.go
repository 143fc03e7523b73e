// Package buildinfo says which source a binary was built from, as the Go command recorded it, so
// that staff can match a keytool or a drop box to its release and rebuild it to compare bytes
// (README, "Release builds").
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// Version is the module version, the commit with its time and whether the checkout had changes
// that were not committed, and the Go release: everything needed to build the same bytes again.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (built without module information)"
	}
	return describe(bi)
}

func describe(bi *debug.BuildInfo) string {
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	var about []string
	if rev := settings["vcs.revision"]; rev != "" {
		commit := "commit " + rev
		if t := settings["vcs.time"]; t != "" {
			commit += " of " + t
		}
		if settings["vcs.modified"] == "true" {
			commit += " with changes that were not committed"
		}
		about = append(about, commit)
	} else {
		about = append(about, "built outside a git checkout, so no commit recorded")
	}
	about = append(about, "built with "+bi.GoVersion)
	return bi.Main.Version + " (" + strings.Join(about, ", ") + ")"
}
