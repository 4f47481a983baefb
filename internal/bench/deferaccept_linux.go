package bench

import "syscall"

// setDeferAccept makes the kernel hand over an accepted connection only once
// its first data has come (TCP_DEFER_ACCEPT, tcp(7)), for protocols whose
// client speaks first: the responder's first read then finds the request
// instead of waiting for it through the poller, which cost the load
// generator a failed read and a wake-up per validation.
func setDeferAccept(c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, deferAcceptSeconds)
	})
	if err != nil {
		return err
	}
	return serr
}
