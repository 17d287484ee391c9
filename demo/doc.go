// Package demo is "make demo": mailpull's first run, shown on throw-away
// servers. It starts a "remote" Dovecot (a Gmail-like provider), the
// "local" Dovecot and its slapd directory, all of internal/rig, on
// 127.0.0.1 under a temporary directory; fills a realistic remote account;
// then adds two tasks and runs them with the real mailpull binary, the way
// an admin would, and stops everything again.
//
// It is a test under the demo build tag, so that go test ./... never runs
// it; the Makefile compiles it and runs the test binary itself, so that
// mailpull's progress bar reaches the terminal. See README.md, "Try it".
package demo
