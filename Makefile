# Shortcuts; every target is one plain command you can run without make.
STACK ?= dev

.PHONY: preview test toolchain e2e

preview: ## the offline preview of $(STACK) with its policy verdict
	go run ./cmd/preview --stack $(STACK)

test: ## the unit, stack and policy tests
	go test ./...

toolchain: ## build (or reuse) the Pulumi CLI at the SDK version into .tools/bin
	bash scripts/pulumi-toolchain.sh

e2e: ## the engine end-to-end run: CLI + Automation API + policy pack binary + stand-in providers
	go test -tags e2e ./e2e -count=1 -v -timeout 60m
