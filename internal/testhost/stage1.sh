#!/bin/sh
# Stage 1 of a test host: runs as PID 1 of its new PID, mount, UTS, IPC and
# (unless HOSTNET=1) network namespaces, inside its own cgroup namespace. It
# builds the root on an overlay, then pivots into it and execs systemd, which
# stays PID 1. Every mount made here lives only in this mount namespace.
#
# Environment (set by testhost.Boot): RUN (run directory on the host), LOWER
# (the base rootfs), HOSTNAME_, HOSTNET, MASK, DROP_CAPS, CONSOLE (the pty).
set -eu

R=$RUN/mnt/root
# Upper layer on a tmpfs: every write inside vanishes with the namespace.
mount -t tmpfs -o mode=700 testhost-scratch "$RUN/mnt"
mkdir -p "$RUN/mnt/upper" "$RUN/mnt/work" "$R"
mount -t overlay testhost-root -o "lowerdir=$LOWER,upperdir=$RUN/mnt/upper,workdir=$RUN/mnt/work" "$R"

# /proc of the new PID namespace, kernel tunables read-only (as systemd-nspawn
# does): systemd-sysctl then skips, and the shared kernel is never retuned.
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
for p in sys sysrq-trigger irq bus fs; do
	[ -e "$R/proc/$p" ] || continue
	mount --bind "$R/proc/$p" "$R/proc/$p"
	mount -o remount,bind,ro,nosuid,nodev,noexec "$R/proc/$p"
done
if [ "$HOSTNET" != 1 ]; then # net.* sysctls belong to the private netns
	mount --bind "$R/proc/sys/net" "$R/proc/sys/net"
	mount -o remount,bind,rw,nosuid,nodev,noexec "$R/proc/sys/net"
fi
# /sys read-only, so udev and friends skip; a cgroup2 tree rooted at our cgroup.
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"

# A minimal /dev as systemd-nspawn makes it: no block devices, a private
# devpts, and the console is the pty whose output the host logs.
mount -t tmpfs -o mode=755,nosuid,size=4m,strictatime testhost-dev "$R/dev"
mknod -m 666 "$R/dev/null" c 1 3
mknod -m 666 "$R/dev/zero" c 1 5
mknod -m 666 "$R/dev/full" c 1 7
mknod -m 666 "$R/dev/random" c 1 8
mknod -m 666 "$R/dev/urandom" c 1 9
mknod -m 666 "$R/dev/tty" c 5 0
mkdir -m 755 "$R/dev/pts" "$R/dev/net"
mkdir -m 1777 "$R/dev/shm"
mknod -m 666 "$R/dev/net/tun" c 10 200
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5,nosuid,noexec devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev testhost-shm "$R/dev/shm"
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"
ln -s /proc/self/fd/2 "$R/dev/stderr"
touch "$R/dev/console"
mount --bind "$CONSOLE" "$R/dev/console"

# Never the host's /run or /tmp: systemd-tmpfiles would clean them.
mount -t tmpfs -o mode=755,nosuid,nodev,strictatime testhost-run "$R/run"
mount -t tmpfs -o mode=1777,nosuid,nodev,strictatime testhost-tmp "$R/tmp"

# Own hostname, and a fresh machine-id: an empty one would mean "first boot",
# and systemd would then enable every unit through preset-all.
hostname "$HOSTNAME_"
echo "$HOSTNAME_" >"$R/etc/hostname"
tr -d '-' </proc/sys/kernel/random/uuid >"$R/etc/machine-id"
# Let package scripts start services, as on a real machine.
rm -f "$R/usr/sbin/policy-rc.d"
mkdir -p "$R/etc/systemd/system" "$R/etc/systemd/journald.conf.d"
for u in $MASK; do ln -sfn /dev/null "$R/etc/systemd/system/$u"; done
# The journal in /run: it dies with the test host; the host dumps it first.
printf '[Journal]\nStorage=volatile\nRateLimitBurst=0\n' >"$R/etc/systemd/journald.conf.d/testhost.conf"

cd "$R"
mkdir -p .oldroot
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot
# Shared propagation inside, as systemd-nspawn sets it up: systemd in a
# container leaves it to the container manager, and needs it to move a
# service's credentials mount (LoadCredential=) into place. The mounts are
# the test host's own (a new mount namespace), so nothing reaches the host.
mount --make-rshared /
# container= makes systemd behave as in a container: at halt it exits rather
# than detaching loop, MD and DM devices or swap, which belong to the host.
exec setpriv --bounding-set "$DROP_CAPS" \
	env -i container=mailpull-testhost PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
	/lib/systemd/systemd --show-status=true
