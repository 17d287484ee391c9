package testhost

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// insideEnv is the whole environment of a command run inside.
var insideEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root", "LANG=C.UTF-8", "TERM=dumb", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0",
	"DEBIAN_FRONTEND=noninteractive",
}

// Command returns a command that runs inside the test host: in all its
// namespaces, at its root, with a clean environment and the same reduced
// capability bounding set as its systemd (nsenter alone keeps all of ours,
// which with HostNetwork could reconfigure the host's network).
func (h *Host) Command(args ...string) *exec.Cmd {
	ns := []string{"-t", strconv.Itoa(h.pid), "-m", "-u", "-i", "-p", "-C", "-r", "-w"}
	if !h.hostNet {
		ns = append(ns, "-n")
	}
	argv := append(ns, "--", "setpriv", "--bounding-set", h.caps, "env", "-i")
	argv = append(append(argv, insideEnv...), args...)
	cmd := exec.Command("nsenter", argv...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	return cmd
}

// Exec runs a command inside and returns its combined output.
func (h *Host) Exec(args ...string) (string, error) {
	var out bytes.Buffer
	cmd := h.Command(args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s: %w", strings.Join(args, " "), err)
	}
	return out.String(), nil
}

// MustExec is Exec that fails the test on error.
func (h *Host) MustExec(args ...string) string {
	h.t.Helper()
	out, err := h.Exec(args...)
	if err != nil {
		h.t.Fatalf("testhost %s: %v\n%s", h.name, err, out)
	}
	return out
}

// CopyIn copies the host file or directory src to dst inside (dst is the
// copy's own path, as in cp -a src dst). The copy is unpacked by tar inside,
// so the test host's symlinks resolve within the test host.
func (h *Host) CopyIn(src, dst string) error {
	return h.untar(dst, func(tw *tar.Writer) error { return tarTree(tw, src, dst) })
}

// WriteFile writes a file inside, creating missing parent directories.
func (h *Host) WriteFile(name string, data []byte, perm fs.FileMode) error {
	return h.untar(name, func(tw *tar.Writer) error {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg, Name: tarName(name), Mode: int64(perm.Perm()),
			Size: int64(len(data)), ModTime: time.Now(),
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	})
}

// untar streams what write produces into tar -x at the test host's root.
func (h *Host) untar(dst string, write func(*tar.Writer) error) error {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := write(tw)
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	var out bytes.Buffer
	cmd := h.Command("tar", "-x", "-p", "-C", "/")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pr, &out, &out
	err := cmd.Run()
	pr.CloseWithError(io.ErrClosedPipe) // unblocks the writer if tar stopped early
	if err != nil {
		return fmt.Errorf("copy to %s: %w: %s", dst, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// tarTree writes src and everything below it, renamed to dst.
func tarTree(tw *tar.Writer, src, dst string) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = tarName(path.Join(dst, filepath.ToSlash(rel)))
		return writeEntry(tw, hdr, p)
	})
}

func writeEntry(tw *tar.Writer, hdr *tar.Header, p string) error {
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

// tarName makes an absolute path inside relative to the root tar unpacks at.
func tarName(p string) string {
	return strings.TrimPrefix(path.Clean("/"+p), "/")
}
