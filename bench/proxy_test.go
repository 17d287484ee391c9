//go:build bench

package bench

import (
	"net"
	"sync"
	"testing"
	"time"
)

// startDelay listens on 127.0.0.1 and forwards every connection to target,
// holding each direction's data for rtt/2, so that every tool sees the same
// round trip to the remote. Bandwidth is not limited: a chunk leaves as soon
// as its delay is over, however many are in flight. With rtt 0 there is no
// proxy at all.
func startDelay(t testing.TB, target string, rtt time.Duration) string {
	t.Helper()
	if rtt <= 0 {
		return target
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("bench: delay proxy: %v", err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { forward(c.(*net.TCPConn), target, rtt/2) })
		}
	}()
	return ln.Addr().String()
}

func forward(client *net.TCPConn, target string, delay time.Duration) {
	defer client.Close()
	s, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	server := s.(*net.TCPConn)
	defer server.Close()
	done := make(chan struct{}, 2)
	go func() { pipe(server, client, delay); done <- struct{}{} }()
	go func() { pipe(client, server, delay); done <- struct{}{} }()
	<-done
	<-done
}

// chunk is data read at one moment, due at another; nil data is the end.
type chunk struct {
	data []byte
	due  time.Time
}

// pipe copies src to dst, each read delayed by delay. A close is delayed
// too, and passed on as a half-close so that a LOGOUT's reply still
// arrives.
func pipe(dst, src *net.TCPConn, delay time.Duration) {
	q := make(chan chunk, 4096)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 64<<10)
			n, err := src.Read(buf)
			if n > 0 {
				q <- chunk{buf[:n], time.Now().Add(delay)}
			}
			if err != nil {
				q <- chunk{nil, time.Now().Add(delay)}
				return
			}
		}
	}()
	for c := range q {
		time.Sleep(time.Until(c.due))
		if c.data == nil {
			_ = dst.CloseWrite()
			continue
		}
		if _, err := dst.Write(c.data); err != nil {
			// The peer is gone: unblock the reader, which ends the queue.
			src.Close()
			for range q {
			}
			return
		}
	}
}
