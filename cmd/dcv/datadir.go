package main

import (
	"context"
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
	if hasDB && newDatabase {
		return nil, nil, exitError{code: exitUsage, msg: fmt.Sprintf("--new-database: %s exists already; it is for a CA whose database is missing, and dcv replaces no database (move it away first if you mean to). Nothing was changed", dbPath)}
	}
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return nil, nil, err
	}
	refuse := func(msg string) (*sqlite.Store, *ca.CA, error) {
		st.Close()
		return nil, nil, exitError{code: exitFailure, msg: msg + ". Nothing was changed"}
	}
	bound, err := st.CABinding(ctx)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	if !hasCA {
		n, err := st.CertificateCount(ctx)
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		if bound != "" || n > 0 {
			return refuse(fmt.Sprintf("the database %s belongs to a CA (intermediate SHA-256 %s; %d certificates issued), but %s holds no CA: a new one would issue under another name, and the CRL of the database's certificates could no longer be signed. "+
				"Restore the CA directory that belongs with this database", dbPath, orUnknown(bound), n, caCfg.Dir))
		}
	}
	authority, err := ca.LoadOrCreate(caCfg)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	fp := authority.Fingerprint()
	if bound != "" && bound != fp {
		return refuse(fmt.Sprintf("the database %s belongs to the CA whose intermediate has SHA-256 %s, but %s holds another CA (%s): restore the CA directory and the database that belong together", dbPath, bound, caCfg.Dir, fp))
	}
	if bound == "" {
		if err := st.BindCA(ctx, fp); err != nil {
			st.Close()
			return nil, nil, err
		}
	}
	return st, authority, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "not recorded"
	}
	return s
}
