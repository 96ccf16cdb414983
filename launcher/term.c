// SPDX-License-Identifier: GPL-2.0
/*
 * The terminal a guest's console reads from.  When our stdin is a
 * terminal, it goes into raw mode for the run, as QEMU's -nographic and
 * kvmtool put it: every key, Ctrl-C included, is the guest's, and the
 * user leaves with the escape Ctrl-A x (Ctrl-A Ctrl-A types one Ctrl-A).
 * Output processing stays on, so that the launcher's own lines end where
 * a terminal expects them.  The modes change at once (TCSANOW, as QEMU
 * does): waiting for pending output to drain first held the guest's
 * start by seconds on the test VM's 9600-baud serial line.
 *
 * The terminal must come back as it was however the run ends: on the
 * normal way out, and on the signals that end a process without its
 * say-so but let it run a handler first (SIGTERM, SIGHUP).  SIGKILL
 * leaves it raw; `reset` repairs that, as after any program.
 */
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include "launcher.h"

static struct termios saved;
static int saved_fd = -1;

/* Async-signal-safe: tcsetattr() is. */
void lg_term_restore(void)
{
	if (saved_fd >= 0)
		tcsetattr(saved_fd, TCSANOW, &saved);
}

static void restore_and_die(int sig)
{
	lg_term_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

int lg_term_raw(int fd)
{
	struct termios raw;

	if (!isatty(fd) || tcgetattr(fd, &saved))
		return 0;
	raw = saved;
	cfmakeraw(&raw);
	raw.c_oflag |= OPOST;
	saved_fd = fd;
	signal(SIGTERM, restore_and_die);
	signal(SIGHUP, restore_and_die);
	if (tcsetattr(fd, TCSANOW, &raw)) {
		saved_fd = -1;
		return 0;
	}
	return 1;
}

/*
 * Take the escape out of what the user typed: @in's @n bytes become the
 * bytes for the guest in @out, which holds @n + 1 (a Ctrl-A held over
 * from the last read may come out with this one's first byte), and *@quit
 * is set at Ctrl-A x.
 * An escape may straddle two reads, so whether the last byte was Ctrl-A
 * is kept in @e.  Any other key after Ctrl-A goes to the guest with the
 * Ctrl-A, as if there were no escape.
 */
size_t lg_escape_filter(struct lg_escape *e, const char *in, size_t n,
			char *out, int *quit)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = in[i];

		if (!e->armed) {
			if (c == LG_ESCAPE_CHAR)
				e->armed = 1;
			else
				out[o++] = c;
			continue;
		}
		e->armed = 0;
		if (c == 'x' || c == 'X') {
			*quit = 1;
			return o;
		}
		/* Ctrl-A Ctrl-A is one Ctrl-A; Ctrl-A k is both. */
		if (c != LG_ESCAPE_CHAR)
			out[o++] = LG_ESCAPE_CHAR;
		out[o++] = c;
	}
	return o;
}
