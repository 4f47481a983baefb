#!/usr/bin/env bash
# loopback-only.sh CMD [ARG...]: run CMD in a network namespace of its own
# whose only interface is the loopback one, so that nothing it starts (the
# tests, and the real certbot, lego, uacme and knot they run) can send a
# packet anywhere but 127.0.0.0/8 and ::1: a send to any other address
# fails at once (no route) and the test that made it fails, instead of the
# packet leaving the machine.
#
# It needs the right to create a network namespace (root, or a user
# namespace where the kernel allows one; in the latter, CMD runs as a
# mapped root) and the ip command (iproute2) to bring the loopback
# interface up. Where either is missing (an unprivileged container), it
# says so and runs CMD as it is, unless LOOPBACK_ONLY=require, which makes
# that an error.
set -euo pipefail
if [ $# -eq 0 ]; then
	echo "usage: $0 CMD [ARG...]" >&2
	exit 2
fi
if command -v ip >/dev/null; then
	if unshare --net true 2>/dev/null; then
		exec unshare --net sh -c 'ip link set lo up && exec "$@"' sh "$@"
	fi
	if unshare --user --map-root-user --net true 2>/dev/null; then
		exec unshare --user --map-root-user --net sh -c 'ip link set lo up && exec "$@"' sh "$@"
	fi
	why="cannot create a network namespace here"
else
	why="the ip command (iproute2) is missing"
fi
if [ "${LOOPBACK_ONLY:-}" = require ]; then
	echo "loopback-only.sh: $why, and LOOPBACK_ONLY=require" >&2
	exit 1
fi
echo "loopback-only.sh: $why; running without the loopback-only guard" >&2
exec "$@"
