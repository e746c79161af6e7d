#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make install` and `make uninstall` into a scratch DESTDIR: the binary,
# a man page for every command `nft-jit --help` lists (and every option
# of its --help), pages that render without warnings, the systemd unit
# starting the installed binary; uninstall leaves no file behind.  Needs
# no root.
set -uo pipefail
cd "$(dirname "$0")/../.."

passed=0 failed=0 skipped=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
skip() { echo "skip $1"; skipped=$((skipped + 1)); }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# check NAME COMMAND...: ok if COMMAND succeeds, else FAIL with its output
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		fail "$name: ${out:0:600}"
	fi
}

# the troff source of an installed page, gzipped or not
page_src() {
	case $1 in
	*.gz) gzip -dc "$1" ;;
	*) cat "$1" ;;
	esac
}

# the source with the escapes of option names undone: \- -> -, \% and
# font changes dropped, \~ -> space
page_text() {
	page_src "$1" | sed -e 's/\\-/-/g' -e 's/\\%//g' -e 's/\\f[BIRP]//g' \
		-e 's/\\~/ /g'
}

# the commands `nft-jit --help` lists
commands() {
	"$1" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'
}

# the long options a --help text names
long_opts() {
	grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

# expect_installed DESTDIR SBINDIR MANDIR UNITDIR SUFFIX: what install put there
expect_installed() {
	local d=$1 sbin=$2 man=$3 unitdir=$4 sfx=$5 want got p
	want=$(
		echo "$sbin/nft-jit"
		echo "$unitdir/nft-jit.service"
		for p in man/*.8; do echo "$man/man8/${p##*/}$sfx"; done
	)
	got=$(cd "$d" && find . -type f -o -type l | sed 's/^\.//')
	if [ "$(sort <<<"$want")" = "$(sort <<<"$got")" ]; then
		ok "install to $d: exactly the binary, $(ls man/*.8 | wc -l) man pages${sfx:+ (gzipped)} and the unit"
	else
		fail "install to $d: files differ (< expected, > installed): $(diff <(sort <<<"$want") <(sort <<<"$got") | grep '^[<>]' | tr '\n' ' ')"
	fi
}

# --- make install, default PREFIX, man pages as they are ---------------
d=$tmp/root
if ! out=$(make -s --no-print-directory install DESTDIR="$d" 2>&1); then
	fail "make install DESTDIR: ${out:0:800}"
	echo "$passed passed, $failed failed, $skipped skipped"
	exit 1
fi
sbin=/usr/local/sbin man=/usr/local/share/man unitdir=/usr/local/lib/systemd/system
expect_installed "$d" "$sbin" "$man" "$unitdir" ""
jit=$d$sbin/nft-jit
check "installed binary runs (--version)" "$jit" --version
[ -x "$jit" ] && [ "$(stat -c %a "$jit")" = 755 ] && ok "binary mode 0755" ||
	fail "binary mode $(stat -c %a "$jit" 2>&1)"

# every page: groff -ww without a warning, mandoc -Tlint (if installed)
# without a warning, man -l renders it
for p in "$d$man"/man8/*.8; do
	n=${p##*/}
	[ "$(stat -c %a "$p")" = 644 ] || fail "$n: mode $(stat -c %a "$p")"
	w=$(groff -man -Tutf8 -ww -z "$p" 2>&1)
	[ -z "$w" ] && ok "$n: groff -ww, no warnings" || fail "$n: groff: $w"
	if command -v mandoc >/dev/null; then
		w=$(mandoc -Tlint -W warning "$p" 2>&1)
		[ -z "$w" ] && ok "$n: mandoc -Tlint" || fail "$n: mandoc: $w"
	fi
	if out=$(MANWIDTH=80 man -l "$p" 2>&1) && grep -q '^NAME' <<<"$out" &&
	   grep -q '^SYNOPSIS' <<<"$out"; then
		ok "$n: man -l renders it"
	else
		fail "$n: man -l: ${out:0:300}"
	fi
done
if command -v mandoc >/dev/null; then :; else
	skip "mandoc -Tlint: mandoc not installed"
fi

# man finds them under MANDIR
check "man -w finds nft-jit(8) under MANDIR" \
	env MANPATH="$d$man" man -w 8 nft-jit

# --- man coverage of the command line ----------------------------------
cmds=$(commands "$jit")
if [ -z "$cmds" ]; then
	fail "no commands found in nft-jit --help"
fi
main=$d$man/man8/nft-jit.8
main_text=$(page_text "$main")
for c in $cmds; do
	pg=$d$man/man8/nft-jit-$c.8
	if [ ! -f "$pg" ]; then
		fail "command $c: no page nft-jit-$c.8"
		continue
	fi
	if grep -qx "\.B $c" "$main" && grep -qF "nft-jit-$c (8)" <<<"$main_text"; then
		ok "command $c: in nft-jit(8), with its page"
	else
		fail "command $c: nft-jit(8) does not list it (.B $c, nft-jit-$c(8))"
	fi
	text=$(page_text "$pg")
	if grep -q "^\.SY \"nft-jit $c" <<<"$text"; then
		ok "command $c: nft-jit-$c(8) has its synopsis"
	else
		fail "command $c: nft-jit-$c(8) has no .SY \"nft-jit $c\""
	fi
	# every long option of the command's --help (attach: with --link)
	if ! help=$("$jit" "$c" --help 2>&1); then
		fail "command $c: --help fails: ${help:0:200}"
		continue
	fi
	[ "$c" = attach ] && help+=$'\n'$("$jit" attach --link --help 2>&1)
	missing=
	for o in $(long_opts <<<"$help"); do
		grep -qF -- "$o" <<<"$text" || missing+=" $o"
	done
	[ -z "$missing" ] && ok "command $c: every option of --help in its page" ||
		fail "command $c: nft-jit-$c(8) misses$missing"
done
# and no page for a command that does not exist
for p in man/nft-jit-*.8; do
	c=${p#man/nft-jit-}
	c=${c%.8}
	grep -qx "$c" <<<"$cmds" || fail "man/nft-jit-$c.8: no command $c in nft-jit --help"
done
missing=
for o in $("$jit" --help | long_opts); do
	grep -qF -- "$o" <<<"$main_text" || missing+=" $o"
done
[ -z "$missing" ] && ok "nft-jit(8): every global option" ||
	fail "nft-jit(8) misses$missing"

# --- the systemd unit ---------------------------------------------------
unit=$d$unitdir/nft-jit.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
if [ "$exec_start" = "$sbin/nft-jit daemon --foreground" ] &&
   [ -x "$d${exec_start%% *}" ]; then
	ok "unit: ExecStart=$exec_start, the installed binary"
else
	fail "unit: ExecStart='$exec_start', expected '$sbin/nft-jit daemon --foreground'"
fi
grep -qE '@[A-Z_]+@' "$unit" &&
	fail "unit: @VARIABLE@ left: $(grep -E '@[A-Z_]+@' "$unit")" ||
	ok "unit: every @VARIABLE@ substituted"
for kv in Type=simple Restart=on-failure After=nftables.service \
	  RuntimeDirectory=nft-jit WantedBy=multi-user.target; do
	grep -qx "$kv" "$unit" && ok "unit: $kv" || fail "unit: no $kv"
done
grep -q '^PrivateNetwork=yes' "$unit" && fail "unit: PrivateNetwork=yes" ||
	ok "unit: no PrivateNetwork"
if command -v systemd-analyze >/dev/null; then
	# the unit as installed, its ExecStart pointing into DESTDIR, its
	# Documentation= found by man in DESTDIR
	mkdir -p "$tmp/verify"
	sed "s|^ExecStart=$sbin/|ExecStart=$d$sbin/|" "$unit" \
		>"$tmp/verify/nft-jit.service"
	check "unit: systemd-analyze verify" \
		env MANPATH="$d$man" systemd-analyze verify "$tmp/verify/nft-jit.service"
else
	skip "systemd-analyze verify: not installed"
fi

# --- make uninstall -------------------------------------------------------
check "make uninstall DESTDIR" make -s --no-print-directory uninstall DESTDIR="$d"
left=$(find "$d" -type f -o -type l)
[ -z "$left" ] && ok "uninstall: no file left" ||
	fail "uninstall: left $(tr '\n' ' ' <<<"$left")"

# --- PREFIX=/usr, gzipped man pages, SBINDIR and MANDIR given -------------
d=$tmp/usr
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)
unitdir=${unitdir:-/lib/systemd/system}
if out=$(make -s --no-print-directory install DESTDIR="$d" PREFIX=/usr \
	 MAN_GZIP=1 2>&1); then
	expect_installed "$d" /usr/sbin /usr/share/man "$unitdir" .gz
	w=$(for p in "$d"/usr/share/man/man8/*.gz; do
		gzip -dc "$p" | groff -man -Tutf8 -ww -z 2>&1; done)
	[ -z "$w" ] && ok "gzipped pages: groff -ww, no warnings" ||
		fail "gzipped pages: $w"
	exec_start=$(sed -n 's/^ExecStart=//p' "$d$unitdir/nft-jit.service")
	[ "$exec_start" = "/usr/sbin/nft-jit daemon --foreground" ] &&
		ok "PREFIX=/usr: ExecStart=$exec_start" ||
		fail "PREFIX=/usr: ExecStart='$exec_start'"
	check "PREFIX=/usr: make uninstall" make -s --no-print-directory \
		uninstall DESTDIR="$d" PREFIX=/usr
	left=$(find "$d" -type f -o -type l)
	[ -z "$left" ] && ok "PREFIX=/usr: uninstall leaves no file" ||
		fail "PREFIX=/usr: uninstall left $(tr '\n' ' ' <<<"$left")"
else
	fail "make install PREFIX=/usr MAN_GZIP=1: ${out:0:800}"
fi

d=$tmp/dirs
if out=$(make -s --no-print-directory install DESTDIR="$d" SBINDIR=/opt/nj/bin \
	 MANDIR=/opt/nj/man SYSTEMDUNITDIR=/etc/systemd/system 2>&1); then
	expect_installed "$d" /opt/nj/bin /opt/nj/man /etc/systemd/system ""
	grep -qx 'ExecStart=/opt/nj/bin/nft-jit daemon --foreground' \
		"$d/etc/systemd/system/nft-jit.service" &&
		ok "SBINDIR=/opt/nj/bin: in ExecStart" ||
		fail "SBINDIR=/opt/nj/bin: $(grep ^ExecStart= "$d/etc/systemd/system/nft-jit.service")"
	make -s --no-print-directory uninstall DESTDIR="$d" SBINDIR=/opt/nj/bin \
		MANDIR=/opt/nj/man SYSTEMDUNITDIR=/etc/systemd/system >/dev/null 2>&1
	left=$(find "$d" -type f -o -type l)
	[ -z "$left" ] && ok "SBINDIR, MANDIR, SYSTEMDUNITDIR: uninstall leaves no file" ||
		fail "SBINDIR, MANDIR, SYSTEMDUNITDIR: uninstall left $(tr '\n' ' ' <<<"$left")"
else
	fail "make install SBINDIR MANDIR SYSTEMDUNITDIR: ${out:0:800}"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
