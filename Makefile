# Two commands matter: `make run` and `make test`. The rest are their parts.
GO ?= go

.PHONY: run test site deps bench
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
