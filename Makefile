# Two commands matter: `make run` and `make test`. The rest are their parts.
GO ?= go

.PHONY: run test site deps bench release package
# The demo, on http://127.0.0.1:8080/ or another port: PORT=8081 make run
run:
	@scripts/run-demo

test: deps site
	scripts/test

site:
	scripts/deps npm
	$(GO) generate ./site

deps:
	scripts/deps

bench: deps site
	scripts/bench

# Reproducible builds into dist/, with dist/SHA256SUMS (scripts/release; README, "Release builds"):
# keytool for every platform; the drop box for $HUGO_ENVIRONMENT (production unless set) and its
# Debian package (production). make package: the package alone.
release:
	scripts/release

package:
	scripts/release deb
