#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# manpage_test.sh: lguest(1) (docs/lguest.1) and `lguest help` say the same
# things: the commands, the options, the exit statuses, the signals, the
# console's escape, the version; groff reads the page without a warning;
# and `lguest info` without the module exits 1 with one clear line.  No
# kernel needed (a host test: tools/check runs it before the VMs).
top=$(cd "$(dirname "$0")/../.." && pwd)
L=$top/launcher/lguest
page=$top/docs/lguest.1
n=0 failed=0
. "$top/selftests/lib.sh"
echo "TAP version 13"
echo "1..8"
if ! command -v groff > /dev/null; then
	for i in 1 2 3 4 5 6 7; do ok 1 "# SKIP groff is not installed (groff-base)"; done
else
	warn=$(groff -man -ww -z "$page" 2>&1)
	[ -z "$warn" ] || echo "# $warn"
	ok "$([ -z "$warn" ] && echo 1 || echo 0)" "groff reads lguest.1 without a warning"
	man=$(groff -man -Tascii -P-cbu -rLL=200n "$page" 2>/dev/null)
	help=$("$L" help)
	# same KIND PATTERN: the matches of PATTERN, in the page and in help
	same() {
		local a b
		a=$(grep -oE -- "$2" <<< "$man" | sort -u | tr '\n' ' ')
		b=$(grep -oE -- "$2" <<< "$help" | sort -u | tr '\n' ' ')
		[ "$a" = "$b" ] || echo "# the page: $a; help: $b"
		ok "$([ -n "$a" ] && [ "$a" = "$b" ] && echo 1 || echo 0)" "the same $1 in both ($b)"
	}
	same options '--[a-z]+'
	same signals 'SIG(TERM|INT|HUP|QUIT|USR1|USR2)'
	# Commands: the page's synopsis lines, help's "commands:" list.
	a=$(sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' <<< "$man" |
	    grep -oE '^ *lguest( \[--device PATH\])? [a-z]+' | awk '{ print $NF }' | sort -u | tr '\n' ' ')
	b=$(sed -n '/^commands:/,/^$/p' <<< "$help" | grep -oE '^  [a-z]+' | sort -u | tr -d ' ' | tr '\n' ' ')
	[ "$a" = "$b" ] || echo "# the page: $a; help: $b"
	ok "$([ -n "$a" ] && [ "$a" = "$b" ] && echo 1 || echo 0)" "the same commands in both ($b)"
	# Exit statuses: the page's EXIT STATUS section, help's "run exits with:".
	a=$(sed -n '/^EXIT STATUS/,/^FILES/p' <<< "$man" | grep -oE '^ {7}[0-9]+' | tr -d ' ' | sort -n | tr '\n' ' ')
	b=$(sed -n '/^run exits with:/,/^$/p' <<< "$help" | grep -oE '^  [0-9]+' | tr -d ' ' | sort -n | tr '\n' ' ')
	[ "$a" = "$b" ] || echo "# the page: $a; help: $b"
	ok "$([ -n "$a" ] && [ "$a" = "$b" ] && echo 1 || echo 0)" "the same exit statuses in both ($b)"
	ok "$(grep -q 'Ctrl-A x' <<< "$man" && grep -q 'Ctrl-A x' <<< "$help" && echo 1 || echo 0)" \
		"both give the console's escape, Ctrl-A x"
	v=$("$L" version | awk '{ print $3 }')
	ok "$(grep -q "^\.TH LGUEST 1 \"[^\"]*\" \"lguest $v\"" "$page" && echo 1 || echo 0)" \
		"the page is for this launcher's version ($v)"
fi
out=$("$L" --device /nonexistent/lguest info 2>&1)
rc=$?
ok "$([ $rc -eq 1 ] && [ "$out" = "lguest: /nonexistent/lguest does not exist: is the lg module loaded?" ] &&
      echo 1 || echo 0)" "lguest info without the module: status 1 and one line ($rc: $out)"
exit $failed
