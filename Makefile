# Two commands matter: `make run` and `make test`. The rest are their parts.
GO ?= go

.PHONY: run test site deps bench
run:
	scripts/run-demo

test: deps site
	scripts/test

site:
	$(GO) generate ./site

deps:
	scripts/deps

bench: deps site
	scripts/bench
