// Command configcheck refuses, before the site is built, a configuration the drop box would
// refuse at start: `go generate ./site` runs it first, so organisations that share a spool
// folder, a key listed for two of them, a misspelt setting or a region that is no ISO 3166-2
// code stop the build with the same message the server would give. (The site's templates check
// what only they see: that each procedure names an organisation that is declared.)
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/safe-complaints/dropbox/internal/config"
)

func main() {
	files := flag.String("config", "config.toml", "the configuration files, comma-separated, as hugo --config takes them")
	flag.Parse()
	if _, err := config.Load(strings.Split(*files, ","), config.Environment()); err != nil {
		fmt.Fprintln(os.Stderr, "site: error: the configuration:", err)
		os.Exit(1)
	}
}
