package main

import (
	"net"
	"sync"
	"testing"
)

// Directions through a cutProxy.
const (
	toServer = iota // client → server
	toClient        // server → client
)

// cutProxy forwards loopback TCP connections to a server. Armed, it cuts the
// connection that carries byte number at of one direction, counting over
// every connection since it was armed: it forwards the bytes before it,
// then closes both ends. It cuts once; later connections pass.
type cutProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	dir   int
	at    int64 // -1: not armed
	n     [2]int64
	fired bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, at: -1}
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

// arm sets the cut and zeroes the counts.
func (p *cutProxy) arm(dir int, at int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dir, p.at, p.n, p.fired = dir, at, [2]int64{}, false
}

// disarm stops cutting and returns the bytes forwarded since the last arm
// or disarm, and whether the cut happened.
func (p *cutProxy) disarm() (n [2]int64, fired bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, fired = p.n, p.fired
	p.at, p.n, p.fired = -1, [2]int64{}, false
	return n, fired
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *cutProxy) forward(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	closeBoth := sync.OnceFunc(func() { client.Close(); server.Close() })
	go p.pipe(server, client, toServer, closeBoth)
	p.pipe(client, server, toClient, closeBoth)
}

// pipe copies src to dst until either ends or the cut falls in this
// direction; then both connections close.
func (p *cutProxy) pipe(dst, src net.Conn, dir int, closeBoth func()) {
	defer closeBoth()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		allow, cut := p.take(dir, int64(n))
		if allow > 0 {
			if _, werr := dst.Write(buf[:allow]); werr != nil {
				return
			}
		}
		if cut || err != nil {
			return
		}
	}
}

// take counts n bytes read in dir and returns how many may pass, and whether
// the connection is cut after them.
func (p *cutProxy) take(dir int, n int64) (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.at >= 0 && !p.fired && dir == p.dir && p.n[dir]+n > p.at {
		allow := p.at - p.n[dir]
		p.n[dir] += allow
		p.fired = true
		return allow, true
	}
	p.n[dir] += n
	return n, false
}
