package testhost

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A console is the pty that the test host gets as /dev/console; what systemd
// prints there (the boot status lines) is copied to console.log. We hold its
// slave end open until the test host is gone: systemd opens /dev/console for
// each message only, and a pty with no slave open fails reads with EIO,
// which would end the copy, and then block systemd once the pty is full.
type console struct {
	master *os.File
	slave  *os.File
	path   string
	done   chan struct{}
}

func openConsole(logPath string) (*console, error) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	slave, err := openSlave(master)
	if err != nil {
		master.Close()
		return nil, fmt.Errorf("console: %w", err)
	}
	log, err := os.Create(logPath)
	if err != nil {
		master.Close()
		slave.Close()
		return nil, fmt.Errorf("console: %w", err)
	}
	c := &console{master: master, slave: slave, path: logPath, done: make(chan struct{})}
	go c.copy(log)
	return c, nil
}

func openSlave(master *os.File) (*os.File, error) {
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		return nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		return nil, fmt.Errorf("pty number: %w", err)
	}
	return os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
}

// copy drains the pty until close.
func (c *console) copy(log *os.File) {
	io.Copy(log, c.master) // ends with EIO once close dropped the slave end
	log.Close()
	close(c.done)
}

// close ends the copy, after it drained what the test host wrote last.
func (c *console) close() {
	c.slave.Close()
	select {
	case <-c.done:
	case <-time.After(time.Second):
	}
	c.master.Close()
	<-c.done
}

// tail returns the last n lines logged so far.
func (c *console) tail(n int) string {
	b, err := os.ReadFile(c.path)
	if err != nil {
		return fmt.Sprintf("(no console log: %v)", err)
	}
	return tail(strings.ReplaceAll(string(b), "\r", ""), n) // the pty adds CRs
}
