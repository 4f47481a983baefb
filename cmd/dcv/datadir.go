package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/store/sqlite"
)

// openData opens the database and the CA of the data directory data (the
// CA in caCfg.Dir), refusing, before either is created, a pair that does
// not belong together: the database holds the CA's certificates and
// revocations, and the CRL the CA signs is made from it, so a CA served
// with another database, or with a new one, would publish a CRL that
// forgets every revocation, and a new CA beside an old database would
// leave its certificates without their CRL. The database names its CA by
// the SHA-256 of the intermediate certificate (sqlite.Store.BindCA),
// recorded at the first start (or the first start of a version that
// records it). newDatabase accepts an empty database beside an existing
// CA (serve --new-database), on purpose.
func openData(ctx context.Context, data string, caCfg ca.Config, newDatabase bool) (*sqlite.Store, *ca.CA, error) {
	dbPath := filepath.Join(data, "dcv.db")
	hasCA, err := ca.HasHierarchy(caCfg.Dir)
	if err != nil {
		return nil, nil, err
	}
	_, err = os.Stat(dbPath)
	hasDB := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("checking the database: %w", err)
	}
	if hasCA && !hasDB && !newDatabase {
		hint := "to start an empty database under this CA on purpose, start dcv serve with --new-database"
		return nil, nil, exitError{code: exitFailure, msg: fmt.Sprintf("%s holds a CA, but its database %s is missing: the CA's certificates and revocations are in that database, and a new one would publish a CRL without them. "+
			"Restore the database that belongs with this CA (dcv.db, with dcv.db-wal if there is one); or, %s. Nothing was changed", caCfg.Dir, dbPath, hint)}
	}
	// Read before anything is changed (Open migrates): a refusal below
	// leaves the database as it was, for the version it came from.
	var info sqlite.Inspection
	if hasDB {
		if info, err = sqlite.Inspect(ctx, dbPath); err != nil {
			return nil, nil, err
		}
	}
	empty := info.Schema == 0 && info.Tables == 0 // no file, an empty one, or a first start cut short
	if hasDB && newDatabase && !empty {
		return nil, nil, exitError{code: exitUsage, msg: fmt.Sprintf("--new-database: %s exists already; it is for a CA whose database is missing, and dcv replaces no database (move it away first if you mean to). Nothing was changed", dbPath)}
	}
	refuse := func(msg string) (*sqlite.Store, *ca.CA, error) {
		return nil, nil, exitError{code: exitFailure, msg: msg + ". Nothing was changed"}
	}
	switch {
	case hasDB && info.Schema == 0 && info.Tables > 0:
		return refuse(fmt.Sprintf("%s is not a dcv database: it holds another program's tables", dbPath))
	case hasDB && info.Schema == 0 && hasCA && !newDatabase:
		// An empty file is no database: as if it were missing
		// (verification run: a truncated dcv.db was adopted).
		return refuse(fmt.Sprintf("%s holds a CA, but its database %s is empty: the CA's certificates and revocations were in it, and an empty one would publish a CRL without them. "+
			"Restore the database that belongs with this CA; or, to start an empty database under this CA on purpose, start dcv serve with --new-database", caCfg.Dir, dbPath))
	}
	if !hasCA && (info.Binding != "" || info.Certificates > 0) {
		return refuse(fmt.Sprintf("the database %s belongs to a CA (intermediate SHA-256 %s; certificates issued: %d), but %s holds no CA: a new one would issue under another name, and the CRL of the database's certificates could no longer be signed. "+
			"Restore the CA directory that belongs with this database", dbPath, orUnknown(info.Binding), info.Certificates, caCfg.Dir))
	}
	var authority *ca.CA
	if hasCA {
		// Loaded (not created): it must be the database's CA.
		if authority, err = ca.LoadOrCreate(caCfg); err != nil {
			return nil, nil, err
		}
		fp := authority.Fingerprint()
		switch {
		case info.Binding != "" && info.Binding != fp:
			return refuse(fmt.Sprintf("the database %s belongs to the CA whose intermediate has SHA-256 %s, but %s holds another CA (%s): restore the CA directory and the database that belong together", dbPath, info.Binding, caCfg.Dir, fp))
		case info.Binding == "" && info.SomeChainPEM != "" && !issuedBy(info.SomeChainPEM, authority):
			// A database from before the binding (migration 014): its
			// certificates say which CA issued them.
			return refuse(fmt.Sprintf("the certificates in the database %s were not issued by the CA in %s (intermediate SHA-256 %s): restore the CA directory and the database that belong together", dbPath, caCfg.Dir, fp))
		}
	}
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return nil, nil, err
	}
	if authority == nil {
		if authority, err = ca.LoadOrCreate(caCfg); err != nil {
			st.Close()
			return nil, nil, err
		}
	}
	if info.Binding == "" {
		if err := st.BindCA(ctx, authority.Fingerprint()); err != nil {
			st.Close()
			return nil, nil, err
		}
	}
	return st, authority, nil
}

// issuedBy reports whether the PEM chain of a stored certificate is of
// authority: it holds authority's intermediate (a stored chain is the leaf
// and its intermediate), or its first certificate is signed by it.
func issuedBy(chainPEM string, authority *ca.CA) bool {
	rest := []byte(chainPEM)
	for first := true; ; first = false {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return false
		}
		if bytes.Equal(b.Bytes, authority.IntermediateDER()) {
			return true
		}
		if first {
			if leaf, err := x509.ParseCertificate(b.Bytes); err == nil && leaf.CheckSignatureFrom(authority.Intermediate()) == nil {
				return true
			}
		}
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "not recorded"
	}
	return s
}
