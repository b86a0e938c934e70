# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# debroot.sh - the Debian 12 roots the systemd tests boot, made once with
# debootstrap and cached (the first run takes a few minutes, later runs
# copy the cache).
#
#   debroot_base DIR   minimal root with systemd and the .deb's dependencies
#                      (the systemd-nspawn test boots it)
#   debroot_vm DIR     DIR/root: the base plus Debian 12's own kernel
#                      (linux-image-cloud-amd64, 6.1) and what the VM checks
#                      use; DIR/vmlinuz and DIR/initrd.img to boot it
#   debroot_check_unit ROOT
#                      a unit in ROOT that runs /share/check.sh once the
#                      system is up (the checks power it off)

# A change here makes the cached roots anew (the base and the VM's).
DEBROOT_PKGS=systemd,systemd-sysv,dbus,iproute2,libbpf1,libelf1,libcjson1,libjson-c5,libsystemd0,libmicrohttpd12,netcat-openbsd,jq
# Added to the VM root: Debian 12's kernel and what the checks use. A
# change here makes the cached VM root anew.
DEBROOT_VM_PKGS="linux-image-cloud-amd64 initramfs-tools kmod udev tcpdump python3-minimal procps bpftool"

debroot_base() {
	local root=$1
	[ -x "$root/lib/systemd/systemd" ] &&
		[ "$(cat "$root.packages" 2>/dev/null)" = "$DEBROOT_PKGS" ] && return 0
	command -v debootstrap >/dev/null || {
		echo "debootstrap missing"
		return 1
	}
	echo "# making the cached root $root with debootstrap (once)"
	rm -rf "$root.tmp"
	mkdir -p "$(dirname "$root")"
	debootstrap --variant=minbase --include="$DEBROOT_PKGS" \
		bookworm "$root.tmp" >/dev/null || {
		echo "debootstrap failed"
		return 1
	}
	rm -rf "$root"
	mv "$root.tmp" "$root"
	echo "$DEBROOT_PKGS" >"$root.packages"
}

# _chroot_run ROOT CMD...: CMD in ROOT with /proc, /sys and /dev mounted;
# they are unmounted whatever CMD does.
_chroot_run() {
	local root=$1 rc
	shift
	mount -t proc proc "$root/proc"
	mount --rbind /dev "$root/dev"
	mount -t sysfs sys "$root/sys"
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null
	LC_ALL=C DEBIAN_FRONTEND=noninteractive chroot "$root" "$@"
	rc=$?
	umount "$root/sys"
	umount -R "$root/dev"
	umount "$root/proc"
	return $rc
}

debroot_vm() {
	local dir=$1 base=$2
	[ -f "$dir/vmlinuz" ] && [ -f "$dir/initrd.img" ] &&
		[ "$(cat "$dir/packages" 2>/dev/null)" = "$DEBROOT_PKGS $DEBROOT_VM_PKGS" ] &&
		[ -x "$dir/root/lib/systemd/systemd" ] && return 0
	debroot_base "$base" || return 1
	echo "# making the cached VM root $dir (Debian 12 kernel, once)"
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	cp -a "$base" "$dir.tmp/root"
	local r=$dir.tmp/root
	# A small initrd: only what finds the virtio disk.
	mkdir -p "$r/etc/initramfs-tools/conf.d"
	echo MODULES=list >"$r/etc/initramfs-tools/conf.d/tcplog.conf"
	printf 'virtio_pci\nvirtio_blk\next4\n' >>"$r/etc/initramfs-tools/modules"
	printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
	chmod 755 "$r/usr/sbin/policy-rc.d"
	if ! _chroot_run "$r" sh -c "apt-get update -qq &&
		apt-get install -y -qq --no-install-recommends $DEBROOT_VM_PKGS \
			>/dev/null"; then
		echo "installing the kernel in the VM root failed"
		rm -rf "$dir.tmp"
		return 1
	fi
	rm -f "$r/usr/sbin/policy-rc.d"
	_chroot_run "$r" apt-get clean
	cp "$(ls "$r"/boot/vmlinuz-* | sort -V | tail -n1)" "$dir.tmp/vmlinuz"
	cp "$(ls "$r"/boot/initrd.img-* | sort -V | tail -n1)" "$dir.tmp/initrd.img"
	# A root password is not needed: the checks run from a unit.
	echo tcplog-vm >"$r/etc/hostname"
	echo "$DEBROOT_PKGS $DEBROOT_VM_PKGS" >"$dir.tmp/packages"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
}

debroot_check_unit() {
	cat >"$1/etc/systemd/system/tcplog-check.service" <<UNIT
[Unit]
Description=tcplogger checks
After=multi-user.target
[Service]
Type=oneshot
TimeoutStartSec=infinity
ExecStart=/share/check.sh
UNIT
	ln -sf ../tcplog-check.service \
		"$1/etc/systemd/system/multi-user.target.wants/tcplog-check.service"
}
