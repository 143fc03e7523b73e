// Package site builds the information site with the Hugo pinned in go.mod and embeds the result,
// so that the drop box binary carries the site and the endpoint together.
//
// Build it with `go generate ./site` (or `make site`); the output lands in site/public/, which git
// ignores. Before the first build only a placeholder is embedded.
// The build fails on a template warning or a missing i18n string (--panicOnWarning turns the
// warnings of --printI18nWarnings into a failure) and on a broken link (see docs/site.md).
// The tests in this package check the built pages; run them after a build.
package site

import (
	"embed"
	"io/fs"
)

//go:generate go tool hugo --source .. --destination site/public --cleanDestinationDir --minify --panicOnWarning --printI18nWarnings --printPathWarnings

//go:embed all:public
var public embed.FS

// Files is the built site, rooted at its top folder (index.html, /en/, /de/, ...).
func Files() fs.FS {
	sub, err := fs.Sub(public, "public")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder
	}
	return sub
}
