package dnsclient_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/dcvhq/dcv/internal/dnsclient"
)

func TestParseRootHints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    string // addresses joined by spaces
		wantErr string
	}{
		{
			name: "named.root format",
			in: `; comment
.                        3600000      NS    A.ROOT.TEST.
A.ROOT.TEST.             3600000      A     192.0.2.1
A.ROOT.TEST.             3600000      AAAA  2001:db8::1
.                        3600000      NS    B.ROOT.TEST.
B.ROOT.TEST.             3600000      A     192.0.2.2
`,
			want: "192.0.2.1 2001:db8::1 192.0.2.2",
		},
		{
			name: "addresses of names outside the NS set ignored",
			in: `. 3600000 NS a.root.test.
a.root.test. 3600000 A 192.0.2.1
other.test. 3600000 A 192.0.2.9
`,
			want: "192.0.2.1",
		},
		{
			name: "no NS records: every address counts",
			in:   "a.root.test. 3600000 A 127.0.0.53\nb.root.test. 3600000 A 127.0.0.54\n",
			want: "127.0.0.53 127.0.0.54",
		},
		{
			name: "duplicates removed",
			in:   ". NS a.test.\n. NS b.test.\na.test. A 192.0.2.1\nb.test. A 192.0.2.1\n",
			want: "192.0.2.1",
		},
		{name: "empty", in: "; nothing\n", wantErr: "no root server address"},
		{name: "NS without address", in: ". 3600000 NS a.root.test.\n", wantErr: "no root server address"},
		{name: "bad record", in: "a.root.test. 3600000 A 300.1.2.3\n", wantErr: "parsing root hints"},
		{name: "too large", in: strings.Repeat("; padding padding padding padding\n", 3000), wantErr: "root hints larger than 65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addrs, err := dnsclient.ParseRootHints(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRootHints: %v", err)
			}
			var got []string
			for _, a := range addrs {
				got = append(got, a.String())
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("addresses = %v, want %s", got, tt.want)
			}
		})
	}
}

func TestBuiltinRootHints(t *testing.T) {
	t.Parallel()
	addrs := dnsclient.BuiltinRootHints()
	var v4, v6 int
	for _, a := range addrs {
		if a.Is4() {
			v4++
		} else {
			v6++
		}
	}
	if v4 != 13 || v6 != 13 {
		t.Errorf("built-in root hints: %d IPv4 and %d IPv6 addresses, want 13 of each (a to m.root-servers.net)", v4, v6)
	}
	// The file lists a.root-servers.net first.
	if addrs[0] != netip.MustParseAddr("198.41.0.4") {
		t.Errorf("first root = %s, want 198.41.0.4", addrs[0])
	}
	// Callers get their own copy.
	addrs[0] = netip.Addr{}
	if dnsclient.BuiltinRootHints()[0] != netip.MustParseAddr("198.41.0.4") {
		t.Error("BuiltinRootHints returned shared storage")
	}
}
