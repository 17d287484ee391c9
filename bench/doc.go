//go:build bench

// Package bench compares mailpull's mirror copy with mbsync and doveadm
// backup, and its INBOX mode (LMTP with Sieve) with fetchmail, on the test
// rig: one generated remote account, a fresh local user per run,
// interleaved repetitions, every result verified before it counts.
// It runs only with the bench build tag, from make bench (see
// docs/benchmarks.md); the normal go test ./... never builds it.
package bench
