# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared helpers of tools/kbuild/install-deps and tools/kbuild/build.
# Sourced, not run. Messages go to stderr; stdout is kept for results.

# The only Debian source package whose tarball we build from.
NFTJ_SRC_PKG=linux-source-6.1
NFTJ_SRC_TARBALL=${NFTJ_KSRC_TARBALL:-/usr/src/linux-source-6.1.tar.xz}

log() { printf 'kbuild: %s\n' "$*" >&2; }
warn() { printf 'kbuild: warning: %s\n' "$*" >&2; }
die() { printf 'kbuild: error: %s\n' "$*" >&2; exit 1; }

# pkg_installed PKG: true when dpkg has PKG fully installed.
pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null |
		grep -q 'install ok installed'
}

# pkg_version PKG: the installed Debian version of PKG (empty if none).
pkg_version() {
	pkg_installed "$1" || return 0
	dpkg-query -W -f='${Version}' "$1" 2>/dev/null
}

# upstream_of DEBVER: "6.1.192-2" -> "6.1.192".
upstream_of() {
	local v=${1#*:}
	printf '%s\n' "${v%%-*}"
}

# headers_dir KVER / headers_common_dir KVER: Debian's split headers.
headers_dir() { printf '/usr/src/linux-headers-%s\n' "$1"; }
headers_common_dir() { printf '/usr/src/linux-headers-%s-common\n' "${1%-amd64}"; }

# headers_release KVER: upstream release of the headers ("6.1.192"),
# from include/config/kernel.release (Debian writes the upstream version
# there; its KERNELRELEASE "6.1.0-NN-amd64" lives in .kernelvariables).
headers_release() {
	local f
	f=$(headers_dir "$1")/include/config/kernel.release
	[ -r "$f" ] || return 0
	head -n1 "$f"
}

# makefile_release MAKEFILE: "VERSION.PATCHLEVEL.SUBLEVEL" of a kernel
# top-level Makefile.
makefile_release() {
	awk -F' *= *' '
		$1 == "VERSION" { v = $2 }
		$1 == "PATCHLEVEL" { p = $2 }
		$1 == "SUBLEVEL" { s = $2 }
		END { if (v != "") printf "%s.%s.%s\n", v, p, s }' "$1"
}

# check_versions KVER: headers, image and linux-source-6.1 must all be
# installed and come from the same Debian upload. Dies with the reason.
check_versions() {
	local kver=$1 hv iv sv hrel
	hv=$(pkg_version "linux-headers-$kver")
	iv=$(pkg_version "linux-image-$kver")
	sv=$(pkg_version "$NFTJ_SRC_PKG")
	[ -n "$hv" ] || die "linux-headers-$kver is not installed (run tools/kbuild/install-deps)"
	[ -n "$iv" ] || die "linux-image-$kver is not installed (run tools/kbuild/install-deps)"
	[ -n "$sv" ] || die "$NFTJ_SRC_PKG is not installed (run tools/kbuild/install-deps)"
	[ -d "$(headers_dir "$kver")" ] || die "$(headers_dir "$kver") is missing"
	[ -r "/boot/vmlinuz-$kver" ] || die "/boot/vmlinuz-$kver is missing"
	[ -r "$NFTJ_SRC_TARBALL" ] || die "$NFTJ_SRC_TARBALL is missing"

	hrel=$(headers_release "$kver")
	[ "$hrel" = "$(upstream_of "$hv")" ] ||
		die "headers $kver say release '$hrel' but the package is $hv"
	[ "$iv" = "$hv" ] ||
		die "linux-image-$kver is $iv but linux-headers-$kver is $hv"
	if [ "$(upstream_of "$sv")" != "$hrel" ]; then
		die "$NFTJ_SRC_PKG is $sv (Linux $(upstream_of "$sv")) but linux-headers-$kver is $hv (Linux $hrel): sources and headers do not match; pick the kernel matching the source with NFTJ_KVER=... or install the matching $NFTJ_SRC_PKG"
	fi
	if [ "$sv" != "$hv" ]; then
		[ "${NFTJ_KMOD_ALLOW_MISMATCH:-0}" = 1 ] ||
			die "$NFTJ_SRC_PKG is $sv but linux-headers-$kver is $hv: same Linux release, different Debian revision (set NFTJ_KMOD_ALLOW_MISMATCH=1 to build anyway)"
		warn "$NFTJ_SRC_PKG $sv vs headers $hv: Debian revisions differ"
	fi
}
