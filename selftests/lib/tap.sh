# SPDX-License-Identifier: GPL-2.0
#
# TAP for the shell selftests (sourced): the caller sets n=0 failed=0 and
# prints the plan; ok counts and prints one result, and a failure makes
# $failed 1, the script's exit status.
ok() {		# ok COND DESCRIPTION: COND 1 passes
	n=$((n + 1))
	if [ "$1" = 1 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=1
	fi
}
