//go:build !linux

package bench

import "syscall"

// setDeferAccept does nothing where TCP_DEFER_ACCEPT does not exist.
func setDeferAccept(syscall.RawConn) error { return nil }
