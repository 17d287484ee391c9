package testhost

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A runDir holds a test host's state on the host: its cgroup path, stage-1
// script and console log. The owning test process holds a flock on its lock
// file for the host's lifetime, so a run directory whose lock is free was
// left by a killed test binary and can be swept.
type runDir struct {
	path string
	lock *os.File
}

var runsDir = filepath.Join(Dir, "runs")

func newRunDir(name string) (*runDir, error) {
	// The runs lock orders creation against sweeping: a directory is never
	// seen by the sweep before its owner holds its lock.
	unlock, err := lockFile(filepath.Join(Dir, "runs.lock"), unix.LOCK_EX)
	if err != nil {
		return nil, err
	}
	defer unlock()
	sweepOnce.Do(sweepStale)
	r := &runDir{path: filepath.Join(runsDir, name)}
	if err := os.MkdirAll(runsDir, 0o755); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	if err := os.Mkdir(r.path, 0o700); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	r.lock, err = os.OpenFile(r.file("lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = unix.Flock(int(r.lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	if err != nil {
		return nil, fmt.Errorf("lock run directory: %w", err)
	}
	return r, os.Mkdir(r.file("mnt"), 0o700)
}

func (r *runDir) file(name string) string { return filepath.Join(r.path, name) }

// close removes the directory unless keep, and releases the lock.
func (r *runDir) close(keep bool) error {
	var err error
	if keep {
		// Without its lock file the sweep of later runs leaves it alone.
		err = os.Remove(r.file("lock"))
	} else {
		err = os.RemoveAll(r.path)
	}
	r.lock.Close()
	return err
}

// lockFile takes a flock on path (created if missing) and returns its release.
func lockFile(path string, how int) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

var sweepOnce sync.Once

// sweepStale removes what test binaries killed before their cleanup left:
// their test hosts died with them (parent-death signal), but the cgroup and
// the run directory remain. Run directories kept on purpose have no lock
// file left and are not touched.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(runsDir, "*", "lock"))
	for _, lock := range dirs {
		f, err := os.OpenFile(lock, os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			dir := filepath.Dir(lock)
			if cg, err := os.ReadFile(filepath.Join(dir, "cgroup")); err == nil {
				removeCgroup(strings.TrimSpace(string(cg)))
			}
			os.RemoveAll(dir)
		}
		f.Close()
	}
}

// newCgroup makes the cgroup2 cgroup testhost.NAME under the caller's own,
// which becomes the root of the test host's cgroup namespace: systemd inside
// sees "/" and never touches the host's cgroups.
func newCgroup(name string) (string, error) {
	root, err := cgroup2Root()
	if err != nil {
		return "", err
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", fmt.Errorf("own cgroup: %w", err)
	}
	var mine string
	for _, line := range strings.Split(string(self), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			mine = p
		}
	}
	if mine == "" || strings.Contains(mine, "..") {
		return "", fmt.Errorf("own cgroup2 cgroup %q is unusable", mine)
	}
	cg := filepath.Join(root, mine, "testhost."+name)
	if err := os.Mkdir(cg, 0o755); err != nil {
		return "", fmt.Errorf("cgroup: %w", err)
	}
	return cg, nil
}

// cgroup2Root finds the cgroup2 hierarchy: pure (/sys/fs/cgroup) or hybrid
// (/sys/fs/cgroup/unified, as on the CI machines).
func cgroup2Root() (string, error) {
	for _, p := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(p, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return p, nil
		}
	}
	return "", errors.New("no cgroup2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified")
}

// removeCgroup kills whatever is left in the tree (nothing, normally) and
// removes it depth first, retrying while the kernel finishes the exits.
func removeCgroup(cg string) error {
	if !strings.HasPrefix(filepath.Base(cg), "testhost.") {
		return fmt.Errorf("refusing to remove cgroup %s", cg)
	}
	if _, err := os.Stat(cg); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	os.WriteFile(filepath.Join(cg, "cgroup.kill"), []byte("1"), 0)
	var err error
	for range 100 {
		if err = rmdirTree(cg); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup: %w", err)
}

func rmdirTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := rmdirTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return unix.Rmdir(dir)
}
