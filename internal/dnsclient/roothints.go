package dnsclient

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// maxRootHintsSize bounds how much of a root hints file is read: IANA's
// named.root is about 3 KiB; 64 KiB leaves room for comments and a private
// root with many servers, and stops a wrong file (a zone dump) early.
const maxRootHintsSize = 64 << 10

// rootHintsTTL is the TTL assumed for records of a root hints file that
// give none (named.root uses 3600000).
const rootHintsTTL = 3600000

// maxRootHintAddrs bounds the addresses taken from a root hints file: each is
// a server the resolver may try, so each adds to the worst case of a lookup.
const maxRootHintAddrs = 64

//go:embed named.root
var builtinNamedRoot []byte

var (
	builtinRootsOnce sync.Once
	builtinRoots     []netip.Addr
	builtinRootsErr  error
)

// BuiltinRootHints returns the addresses of the 13 IANA root servers (IPv4
// and IPv6) from the named.root file built into dcv.
func BuiltinRootHints() []netip.Addr {
	builtinRootsOnce.Do(func() {
		builtinRoots, builtinRootsErr = ParseRootHints(bytes.NewReader(builtinNamedRoot))
	})
	if builtinRootsErr != nil {
		// The file is part of the binary and tested: this cannot happen.
		panic("dnsclient: built-in root hints: " + builtinRootsErr.Error())
	}
	return append([]netip.Addr(nil), builtinRoots...)
}

// ParseRootHints reads a root hints file in the named.root format (RFC 1035
// master-file syntax, the file IANA publishes and --root-hints takes): NS
// records of the root zone and A/AAAA records of the servers they name. It
// returns the addresses of the root servers, without duplicates, in file
// order. When the file has NS records for ".", only addresses of the names
// they list count; otherwise every A and AAAA record does. It reads at most
// 64 KiB and returns an error naming the line when a record does not parse,
// or when no address (or more than 64) is found.
func ParseRootHints(r io.Reader) ([]netip.Addr, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxRootHintsSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading root hints: %w", err)
	}
	if len(data) > maxRootHintsSize {
		return nil, fmt.Errorf("root hints larger than %d bytes", maxRootHintsSize)
	}
	zp := dns.NewZoneParser(bytes.NewReader(data), ".", "root hints")
	// Hand-written hints often omit the TTL; it does not matter here.
	zp.SetDefaultTTL(rootHintsTTL)
	var (
		nsNames = map[string]bool{}
		addrs   []netip.Addr
		owners  []string
	)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		switch v := rr.(type) {
		case *dns.NS:
			if h.Name == "." {
				nsNames[strings.ToLower(v.Ns)] = true
			}
		case *dns.A:
			if a, ok := netip.AddrFromSlice(v.A.To4()); ok {
				addrs, owners = append(addrs, a), append(owners, strings.ToLower(h.Name))
			}
		case *dns.AAAA:
			if a, ok := netip.AddrFromSlice(v.AAAA); ok {
				addrs, owners = append(addrs, a), append(owners, strings.ToLower(h.Name))
			}
		}
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("parsing root hints: %w", err)
	}
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	for i, a := range addrs {
		if (len(nsNames) > 0 && !nsNames[owners[i]]) || seen[a] {
			continue
		}
		seen[a] = true
		out = append(out, a)
	}
	switch {
	case len(out) == 0:
		return nil, errors.New("root hints: no root server address (A or AAAA record of a root NS name)")
	case len(out) > maxRootHintAddrs:
		return nil, fmt.Errorf("root hints: %d addresses, at most %d allowed", len(out), maxRootHintAddrs)
	}
	return out, nil
}
