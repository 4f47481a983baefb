//go:build !linux

package bench

import (
	"net"
	"os"
)

// acceptHTTP01 accepts on ln until it is closed.
func (r *responder) acceptHTTP01(ln *net.TCPListener, _ *os.File) {
	r.acceptHTTP01Conns(ln)
}

// dupListener returns nil: acceptHTTP01 uses ln alone.
func dupListener(*net.TCPListener) *os.File { return nil }
