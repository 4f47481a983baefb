package bench

import (
	"net"
	"os"
	"syscall"
	"time"
)

// acceptRetryDelay is the wait after a failed accept4 for want of
// descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM).
const acceptRetryDelay = 10 * time.Millisecond

// acceptHTTP01 accepts on ln until it is closed. Each connection is taken
// with accept4 on the listener's descriptor and answered at once on this
// goroutine with one read and one write on the non-blocking descriptor:
// TCP_DEFER_ACCEPT (see listenTCP) has the request there by then, and the
// answer, a few hundred octets, fits an empty send buffer. A connection
// that does not fit this (a request in several segments, a partial write)
// goes on as a net.Conn on a goroutine of its own. This spares what
// net.Listener.Accept adds per connection: getsockname, setsockopt
// TCP_NODELAY, registering the descriptor with the poller and removing it
// (eight system calls per validation became four) and a goroutine.
//
// The listener's own RawConn does not read (it fails with EINVAL), so
// accept4 runs on a duplicate of its descriptor, an os.File that the
// poller watches; closing dup (startHTTP's closers do) ends the loop.
func (r *responder) acceptHTTP01(ln *net.TCPListener, dup *os.File) {
	if dup == nil {
		r.acceptHTTP01Conns(ln)
		return
	}
	rc, err := dup.SyscallConn()
	if err != nil {
		r.acceptHTTP01Conns(ln)
		return
	}
	for {
		var fd int
		var aerr error
		// The poller waits while accept4 finds nothing; the error is
		// that of a closed listener.
		err := rc.Read(func(lfd uintptr) bool {
			fd, _, aerr = syscall.Accept4(int(lfd), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
			return aerr != syscall.EAGAIN
		})
		if err != nil {
			return // dup was closed
		}
		if aerr != nil {
			// ECONNABORTED: the next one. Out of descriptors or
			// memory: wait for some to be freed rather than spin.
			if aerr != syscall.ECONNABORTED && aerr != syscall.EINTR {
				time.Sleep(acceptRetryDelay)
			}
			continue
		}
		r.serveHTTP01FD(fd)
	}
}

// serveHTTP01FD answers the connection fd and closes it, or hands it to
// serveHTTP01Conn or finishHTTP01Write.
func (r *responder) serveHTTP01FD(fd int) {
	buf := headBufPool.Get().(*[maxHeaderBytes]byte)
	defer headBufPool.Put(buf)
	n, err := syscall.Read(fd, buf[:])
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR || (err == nil && n > 0 && !headComplete(buf[:n])):
		if err != nil {
			n = 0
		}
		if c := fdConn(fd); c != nil {
			go r.serveHTTP01Conn(c, append([]byte(nil), buf[:n]...))
		}
		return
	case err != nil || n == 0: // reset, or closed before sending anything
		_ = syscall.Close(fd)
		return
	}
	answer := r.http01Answer(buf[:n])
	w, err := syscall.Write(fd, answer)
	if err == nil && w < len(answer) || err == syscall.EAGAIN || err == syscall.EINTR {
		w = max(w, 0)
		if c := fdConn(fd); c != nil {
			go finishHTTP01Write(c, answer[w:])
		}
		return
	}
	_ = syscall.Close(fd)
}

// fdConn makes the connection fd a net.Conn, closing fd; nil if it cannot.
func fdConn(fd int) net.Conn {
	f := os.NewFile(uintptr(fd), "http-01 connection")
	c, err := net.FileConn(f) // a duplicate of fd
	_ = f.Close()
	if err != nil {
		return nil
	}
	return c
}

// dupListener returns a duplicate of ln's descriptor for acceptHTTP01, or
// nil if there is none.
func dupListener(ln *net.TCPListener) *os.File {
	f, err := ln.File()
	if err != nil {
		return nil
	}
	return f
}
