// Package testenv builds hermetic worlds for tests on loopback: DNS servers
// whose zones a test writes, and web servers with scripted responses. Every
// server binds its own 127.0.0.0/8 address, so tests never send traffic
// anywhere else.
package testenv

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
)

var (
	addrMu   sync.Mutex
	addrUsed = map[netip.Addr]bool{}
)

// NewLoopbackAddr returns a loopback address in 127.0.0.0/8 not yet handed
// out by this process, chosen at random so that test binaries running in
// parallel rarely collide (callers still bind with retry, see ListenUDPTCP).
// It never returns 127.0.0.1.
func NewLoopbackAddr() netip.Addr {
	addrMu.Lock()
	defer addrMu.Unlock()
	for {
		a := netip.AddrFrom4([4]byte{127, byte(16 + rand.IntN(224)), byte(rand.IntN(256)), byte(1 + rand.IntN(254))})
		if !addrUsed[a] {
			addrUsed[a] = true
			return a
		}
	}
}

// ListenTCP listens on a fresh loopback address, on port (0 for any).
func ListenTCP(port int) (net.Listener, error) {
	var last error
	for range 20 {
		ln, err := net.Listen("tcp", net.JoinHostPort(NewLoopbackAddr().String(), fmt.Sprint(port)))
		if err == nil {
			return ln, nil
		}
		last = err
	}
	return nil, fmt.Errorf("testenv: no free loopback address: %w", last)
}

// ListenUDPTCP binds the same fresh loopback address and port for UDP and
// TCP, as a DNS server needs.
func ListenUDPTCP() (net.PacketConn, net.Listener, error) {
	var last error
	for range 20 {
		ip := NewLoopbackAddr().String()
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
		if err != nil {
			last = err
			continue
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
		if err != nil {
			pc.Close()
			last = err
			continue
		}
		return pc, ln, nil
	}
	return nil, nil, fmt.Errorf("testenv: no free loopback address: %w", last)
}
