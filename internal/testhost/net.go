package testhost

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"
)

// Dial connects to addr in the test host's network namespace (its own
// loopback, by default). The socket is made on an OS thread that joined the
// namespace and is then thrown away; the connection works from any goroutine.
func (h *Host) Dial(network, addr string) (net.Conn, error) {
	if h.hostNet {
		return net.DialTimeout(network, addr, 5*time.Second)
	}
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: Go ends a locked thread with its goroutine
		c, err := h.dialInside(network, addr)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

func (h *Host) dialInside(network, addr string) (net.Conn, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", h.pid))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("dial %s: setns: %w", addr, err)
	}
	return net.DialTimeout(network, addr, 5*time.Second)
}

// SystemBus connects go-systemd to the test host's system bus, from the test
// process. systemd's private socket, which go-systemd would use by default,
// refuses peers outside its PID namespace; dbus-daemon's does not.
func (h *Host) SystemBus(ctx context.Context) (*sddbus.Conn, error) {
	addr := "unix:path=" + h.Root() + "/run/dbus/system_bus_socket"
	conn, err := sddbus.NewConnection(func() (*godbus.Conn, error) {
		c, err := godbus.Dial(addr, godbus.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		if err = c.Auth([]godbus.Auth{godbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err == nil {
			err = c.Hello()
		}
		if err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("system bus of %s: %w", h.name, err)
	}
	return conn, nil
}
