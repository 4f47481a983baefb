package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"
)

const (
	// maxFileSize bounds each key or certificate file read from Dir. A P-256
	// PKCS#8 key is about 240 bytes of PEM and our certificates under 1 KiB;
	// 64 KiB leaves room for an RSA 8192 key without reading an arbitrary file.
	maxFileSize = 64 << 10

	rootValidity         = 10 * 365 * 24 * time.Hour
	intermediateValidity = 5 * 365 * 24 * time.Hour

	// backdate is subtracted from Now for every NotBefore this package
	// writes, so that a relying party whose clock runs a little behind ours
	// does not see a certificate that is "not yet valid".
	backdate = time.Minute
)

// oidPolicyDV is the CA/B Forum domain-validated reserved policy identifier
// (BRs §7.1.6.1: 2.23.140.1.2.1).
var oidPolicyDV = x509.OID{}

func init() {
	var err error
	oidPolicyDV, err = x509.OIDFromInts([]uint64{2, 23, 140, 1, 2, 1})
	if err != nil {
		panic(err)
	}
}

var hierarchyFiles = []string{RootKeyFile, RootCertFile, IntermediateKeyFile, IntermediateCertFile}

// HasHierarchy reports whether dir holds a CA hierarchy (its four files, or
// all but the root key, kept offline), as LoadOrCreate would load it: false
// when it holds none of them (or does not exist), an error naming the
// missing files when it holds some.
func HasHierarchy(dir string) (bool, error) {
	present, missing, err := inventory(dir)
	switch {
	case err != nil:
		return false, err
	case len(missing) == 0 || rootOffline(missing):
		return true, nil
	case len(present) == 0:
		return false, nil
	}
	return false, incomplete(dir, missing, present, "")
}

// incomplete is the error of a hierarchy in dir missing some of its files,
// with then (what is refused, and how to mend it). The root key, which may
// stay offline, is not asked back when the root certificate is there.
func incomplete(dir string, missing, present []string, then string) error {
	note := ""
	if i := slices.Index(missing, RootKeyFile); i >= 0 && slices.Contains(present, RootCertFile) {
		missing = slices.Delete(slices.Clone(missing), i, i+1)
		note = " (" + RootKeyFile + " may stay offline)"
	}
	return fmt.Errorf("ca: incomplete hierarchy in %s: missing %v%s (present %v)%s", dir, missing, note, present, then)
}

// inventory reports which of the hierarchy's files exist in dir.
func inventory(dir string) (present, missing []string, err error) {
	for _, name := range hierarchyFiles {
		_, err := os.Lstat(filepath.Join(dir, name))
		switch {
		case err == nil:
			present = append(present, name)
		case errors.Is(err, fs.ErrNotExist):
			missing = append(missing, name)
		default:
			return nil, nil, fmt.Errorf("ca: checking %s: %w", name, err)
		}
	}
	return present, missing, nil
}

// rootOffline reports whether the files missing from a hierarchy are the
// root key alone: the root key kept offline, as it should be once the
// intermediate is signed. The server signs with the intermediate only.
func rootOffline(missing []string) bool {
	return len(missing) == 1 && missing[0] == RootKeyFile
}

func load(cfg Config, offline bool) (*CA, error) {
	var rootKey crypto.Signer
	if !offline {
		var err error
		if rootKey, err = readKey(cfg.Dir, RootKeyFile); err != nil {
			return nil, err
		}
	}
	root, rootPEM, err := readCert(cfg.Dir, RootCertFile)
	if err != nil {
		return nil, err
	}
	interKey, err := readKey(cfg.Dir, IntermediateKeyFile)
	if err != nil {
		return nil, err
	}
	inter, interPEM, err := readCert(cfg.Dir, IntermediateCertFile)
	if err != nil {
		return nil, err
	}
	if rootKey != nil {
		if err := checkKeyMatches(rootKey, root, RootKeyFile, RootCertFile); err != nil {
			return nil, err
		}
	}
	if err := checkKeyMatches(interKey, inter, IntermediateKeyFile, IntermediateCertFile); err != nil {
		return nil, err
	}
	if !root.IsCA || !inter.IsCA {
		return nil, errors.New("ca: loading hierarchy: root and intermediate must both be CA certificates")
	}
	if err := root.CheckSignatureFrom(root); err != nil {
		return nil, fmt.Errorf("ca: loading hierarchy: %s is not self-signed: %w", RootCertFile, err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	if _, err := inter.Verify(x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: cfg.Now(),
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return nil, fmt.Errorf("ca: loading hierarchy: %s does not chain to %s: %w", IntermediateCertFile, RootCertFile, err)
	}
	return &CA{cfg: cfg, root: root, rootPEM: rootPEM, inter: inter, interPEM: interPEM, interKey: interKey, rootOffline: rootKey == nil}, nil
}

func checkKeyMatches(key crypto.Signer, cert *x509.Certificate, keyName, certName string) error {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return fmt.Errorf("ca: loading hierarchy: %s does not match the public key of %s", keyName, certName)
	}
	return nil
}

func create(cfg Config) (*CA, error) {
	var id [2]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("ca: creating hierarchy: %w", err)
	}
	suffix := hex.EncodeToString(id[:])
	now := cfg.Now().Truncate(time.Second)
	notBefore := now.Add(-backdate)

	rootKey, rootKeyPEM, err := GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("ca: creating root key: %w", err)
	}
	rootSerial, err := newSerial()
	if err != nil {
		return nil, fmt.Errorf("ca: creating root: %w", err)
	}
	rootTmpl := &x509.Certificate{
		SerialNumber: rootSerial,
		Subject: pkix.Name{
			Organization: []string{cfg.Organization},
			CommonName:   "dcv Root CA " + suffix,
		},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(rootValidity - time.Second),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
		SignatureAlgorithm:    x509.ECDSAWithSHA256,
	}
	rootDER, root, err := signCert("root", rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}

	interKey, interKeyPEM, err := GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("ca: creating intermediate key: %w", err)
	}
	interSerial, err := newSerial()
	if err != nil {
		return nil, fmt.Errorf("ca: creating intermediate: %w", err)
	}
	interTmpl := &x509.Certificate{
		SerialNumber: interSerial,
		Subject: pkix.Name{
			Organization: []string{cfg.Organization},
			CommonName:   "dcv Intermediate CA " + suffix,
		},
		NotBefore: notBefore,
		NotAfter:  notBefore.Add(intermediateValidity - time.Second),
		// BRs §7.1.2.10.7: keyCertSign and cRLSign MUST be set; digitalSignature MAY.
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		// BRs §7.1.2.10.6: a TLS subordinate CA MUST include id-kp-serverAuth.
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		Policies:              []x509.OID{oidPolicyDV},
		SignatureAlgorithm:    x509.ECDSAWithSHA256,
	}
	interDER, inter, err := signCert("intermediate", interTmpl, root, interKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}

	rootPEM, interPEM := pemCert(rootDER), pemCert(interDER)
	err = writeAll(cfg.Dir,
		newFile{RootKeyFile, rootKeyPEM, 0o600},
		newFile{RootCertFile, rootPEM, 0o644},
		newFile{IntermediateKeyFile, interKeyPEM, 0o600},
		newFile{IntermediateCertFile, interPEM, 0o644},
	)
	if err != nil {
		return nil, err
	}
	return &CA{cfg: cfg, root: root, rootPEM: rootPEM, inter: inter, interPEM: interPEM, interKey: interKey, rootOffline: rootKey == nil}, nil
}

// signCert signs tmpl with signer as parent's key, certifying pub, and
// returns the certificate in DER and parsed. what names the certificate in
// errors.
func signCert(what string, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) ([]byte, *x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: signing %s: %w", what, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: parsing new %s: %w", what, err)
	}
	return der, cert, nil
}

// newFile is a file for writeAll: its name, contents and mode.
type newFile struct {
	name string
	data []byte
	mode os.FileMode
}

// writeAll writes files with writeNew in their order, then syncs dir. A
// key goes before its certificate: a crash between the two writes leaves a
// key without certificate, which loading reports instead of replacing.
func writeAll(dir string, files ...newFile) error {
	for _, f := range files {
		if err := writeNew(dir, f.name, f.data, f.mode); err != nil {
			return err
		}
	}
	return syncDir(dir)
}

// writeNew writes data to dir/name through a temporary file that is synced
// and then hard-linked into place: link(2) fails if name already exists, so
// a key written by a concurrent LoadOrCreate is never replaced.
func writeNew(dir, name string, data []byte, mode os.FileMode) (err error) {
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("ca: writing %s: %w", name, err)
	}
	defer func() {
		// The temporary name is removed in every case; on success the data
		// stays reachable under name.
		if rmErr := os.Remove(tmp.Name()); rmErr != nil && err == nil && !errors.Is(rmErr, fs.ErrNotExist) {
			err = fmt.Errorf("ca: removing temporary file for %s: %w", name, rmErr)
		}
	}()
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("ca: writing %s: %w", name, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("ca: writing %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("ca: syncing %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("ca: writing %s: %w", name, err)
	}
	if err := os.Link(tmp.Name(), filepath.Join(dir, name)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("ca: writing %s: file appeared while creating the hierarchy (concurrent LoadOrCreate?); not replacing it: %w", name, err)
		}
		return fmt.Errorf("ca: writing %s: %w", name, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("ca: syncing directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("ca: syncing directory: %w", err)
	}
	return nil
}

func readLimited(dir, name string) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return nil, nil, fmt.Errorf("ca: reading %s: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("ca: reading %s: %w", name, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("ca: reading %s: %w", name, err)
	}
	if len(data) > maxFileSize {
		return nil, nil, fmt.Errorf("ca: reading %s: larger than %d bytes", name, maxFileSize)
	}
	return data, fi, nil
}

func readKey(dir, name string) (crypto.Signer, error) {
	data, fi, err := readLimited(dir, name)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("ca: reading %s: mode %04o lets group or others read the private key; chmod 600 it", name, fi.Mode().Perm())
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("ca: reading %s: no PKCS#8 \"PRIVATE KEY\" PEM block", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("ca: reading %s: %w", name, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("ca: reading %s: unsupported key type %T", name, k)
	}
	if ec, ok := signer.(*ecdsa.PrivateKey); !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("ca: reading %s: want an ECDSA P-256 key, have %T", name, k)
	}
	return signer, nil
}

func readCert(dir, name string) (*x509.Certificate, []byte, error) {
	data, _, err := readLimited(dir, name)
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("ca: reading %s: no \"CERTIFICATE\" PEM block", name)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: reading %s: %w", name, err)
	}
	return cert, pemCert(block.Bytes), nil
}

// checkHTTPURL accepts "" or an absolute http:// URL with a host. BRs
// §7.1.2.7.7 and §7.1.2.11.2 require HTTP URLs for caIssuers, OCSP and CRL
// locations (relying parties fetch them without TLS to avoid loops).
func checkHTTPURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http:// URL", s)
	}
	return nil
}
