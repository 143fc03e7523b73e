// Package site builds the information site with the Hugo pinned in go.mod and embeds the result,
// so that the drop box binary carries the site and the endpoint together.
//
// Build it with `go generate ./site` (or `make site`); the output lands in site/public/, which git
// ignores but for the .gitignore that keeps the folder. Before the first build the site is empty.
// The build fails on a template warning or a missing i18n string (--panicOnWarning turns the
// warnings of --printI18nWarnings into a failure) and on a broken link (see docs/site.md).
// The tests in this package check the built pages; run them after a build.
package site

import (
	"embed"
	"io/fs"
	"slices"
	"strings"
)

//go:generate go run ./configcheck --config ../config.toml
//go:generate go tool hugo --source .. --destination site/public --cleanDestinationDir --minify --panicOnWarning --printI18nWarnings --printPathWarnings
//go:generate cp public/en/procedures.json rules/data/procedures.json

// all: because before the first build public/ holds only its .gitignore, and Go refuses to embed
// a folder with nothing but dotfiles; Files hides them again.
//
//go:embed all:public
var public embed.FS

// Files is the built site, rooted at its top folder (index.html, /en/, /de/, ...), without any
// name that starts with a dot: those are never part of the site.
func Files() fs.FS {
	sub, err := fs.Sub(public, "public")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder
	}
	return withoutDotfiles{sub}
}

// withoutDotfiles is a file system in which names starting with a dot do not exist.
type withoutDotfiles struct{ fsys fs.FS }

func (w withoutDotfiles) Open(name string) (fs.File, error) {
	if name != "." && slices.ContainsFunc(strings.Split(name, "/"), isDotfile) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	f, err := w.fsys.Open(name)
	if dir, ok := f.(fs.ReadDirFile); ok {
		return dirWithoutDotfiles{dir}, err
	}
	return f, err
}

type dirWithoutDotfiles struct{ fs.ReadDirFile }

func (d dirWithoutDotfiles) ReadDir(n int) ([]fs.DirEntry, error) {
	for {
		entries, err := d.ReadDirFile.ReadDir(n)
		entries = slices.DeleteFunc(entries, func(e fs.DirEntry) bool { return isDotfile(e.Name()) })
		// An empty batch means the end to callers, so a batch of only dotfiles reads on.
		if len(entries) > 0 || err != nil || n <= 0 {
			return entries, err
		}
	}
}

func isDotfile(name string) bool { return strings.HasPrefix(name, ".") }
