package acme

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"net/http"
	"sync"
	"time"
)

// Nonce limits.
const (
	// nonceLifetime is how long a nonce stays usable.
	nonceLifetime = time.Hour
	// nonceWindow is how many nonces, counted from the newest, can still be
	// redeemed: the used-set is a bitmap of this many bits (512 KiB), so
	// memory stays bounded whatever the load; an older nonce is badNonce.
	nonceWindow = 1 << 22
	nonceMACLen = 16
	nonceLen    = 8 + 8 + nonceMACLen
	// nonceB64Len bounds the text of a nonce: base64url of nonceLen bytes.
	nonceB64Len = (nonceLen*8 + 5) / 6
)

// nonces issues and redeems Replay-Nonce values (RFC 8555 §6.5). A nonce is
// derived, not stored: counter || issue time || HMAC-SHA-256 of both under
// a key drawn at start, so a restart (a new key) rejects every older nonce.
// A bitmap of the last nonceWindow counters makes each usable once.
type nonces struct {
	key  []byte
	now  func() time.Time
	macs sync.Pool // of *macState

	mu   sync.Mutex
	next uint64 // the next counter to issue
	used []uint64
}

func newNonces(now func() time.Time) *nonces {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic("acme: crypto/rand failed: " + err.Error())
	}
	return &nonces{key: k, now: now, next: 1, used: make([]uint64, nonceWindow/64)}
}

// macState is a pooled HMAC-SHA-256 under the nonce key, with the
// buffers it reads from and sums into: they live with the state, so a
// nonce on the caller's stack does not escape to the heap through the
// hash.Hash interface.
type macState struct {
	h   hash.Hash
	in  [16]byte
	sum [sha256.Size]byte
}

// mac returns the MAC of the nonce's first 16 bytes. Keyed HMAC states
// are pooled: a nonce is issued and redeemed on every ACME request, and a
// fresh hmac.New costs two SHA-256 states and their key schedule.
func (n *nonces) mac(b []byte) [nonceMACLen]byte {
	m, _ := n.macs.Get().(*macState)
	if m == nil {
		m = &macState{h: hmac.New(sha256.New, n.key)}
	}
	m.h.Reset()
	copy(m.in[:], b[:16])
	m.h.Write(m.in[:])
	m.h.Sum(m.sum[:0])
	out := [nonceMACLen]byte(m.sum[:nonceMACLen])
	n.macs.Put(m)
	return out
}

// issue returns a fresh nonce.
func (n *nonces) issue() string {
	n.mu.Lock()
	c := n.next
	n.next++
	slot := c % nonceWindow
	n.used[slot/64] &^= 1 << (slot % 64) // the slot's earlier counter is now out of the window
	n.mu.Unlock()
	var b [nonceLen]byte
	binary.BigEndian.PutUint64(b[:8], c)
	binary.BigEndian.PutUint64(b[8:16], uint64(n.now().Unix()))
	mac := n.mac(b[:])
	copy(b[16:], mac[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// redeem reports whether s is a nonce this process issued, unexpired and
// not used before, and marks it used.
func (n *nonces) redeem(s string) bool {
	// A nonce is exactly nonceLen bytes: decode into an array, refusing
	// any other length before decoding.
	var b [nonceLen]byte
	if base64.RawURLEncoding.DecodedLen(len(s)) != nonceLen {
		return false
	}
	// Copied to a fixed array, which stays on the stack, rather than
	// converted with []byte(s), which allocates.
	var src [nonceB64Len]byte
	if copy(src[:], s) != len(s) {
		return false
	}
	if k, err := base64.RawURLEncoding.Decode(b[:], src[:len(s)]); err != nil || k != nonceLen {
		return false
	}
	if mac := n.mac(b[:]); !hmac.Equal(b[16:], mac[:]) {
		return false
	}
	c := binary.BigEndian.Uint64(b[:8])
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[8:16])), 0)
	if n.now().Sub(issued) > nonceLifetime {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if c >= n.next || n.next-c > nonceWindow {
		return false
	}
	slot := c % nonceWindow
	bit := uint64(1) << (slot % 64)
	if n.used[slot/64]&bit != 0 {
		return false
	}
	n.used[slot/64] |= bit
	return true
}

// noStore is the Cache-Control value of every answer that carries a nonce.
// It is shared by all answers: net/http only reads it, and Header.Add
// appends to a full slice by copying.
var noStore = []string{"no-store"}

func (h *Handler) setNonce(w http.ResponseWriter) {
	hdr := w.Header()
	hdr["Replay-Nonce"] = []string{h.nonces.issue()}
	hdr["Cache-Control"] = noStore
}

// newNonce serves HEAD and GET newNonce (RFC 8555 §7.2): 200 for HEAD, 204
// for GET.
func (h *Handler) newNonce(w http.ResponseWriter, r *http.Request) {
	if err := h.cfg.ACME.AllowNewNonce(r.Context(), clientIP(r)); err != nil {
		// A client minting nonces by the thousand (a flood would push
		// every client's outstanding nonce out of the window): refused,
		// without a nonce.
		h.writeProblemNonce(w, r, err, false)
		return
	}
	h.setNonce(w)
	h.linkIndex(w)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
