// Package e2e proves mailpull end to end on a real systemd: the binary and
// the shipped units installed in a test host (internal/testhost), a local
// Dovecot running inside it, the remote Dovecot and the directory (slapd)
// of internal/rig on the machine's loopback, which the test host shares.
// It has tests only; see docs/testing.md.
package e2e
