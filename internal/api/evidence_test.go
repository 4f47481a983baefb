package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/dcvhq/dcv/client"
	"github.com/dcvhq/dcv/internal/order"
)

// TestCheckWithoutEvidence: ?evidence=false answers a check, and the list
// of stored checks, with the findings and the matrix but without the raw
// observations; the check stores them all the same, and the default
// answers them. Another value is refused, and nothing is checked.
func TestCheckWithoutEvidence(t *testing.T) {
	t.Parallel()
	s := setup(t)
	var o order.View
	s.wantJSON(t, s.do(t, "POST", "/api/v1/orders", s.alice, `{"domains":["ev1.applicant.com","ev2.applicant.com"],"method":"dns"}`), http.StatusCreated, &o)

	wantError(t, s.do(t, "POST", "/api/v1/orders/"+o.ID+"/checks?evidence=maybe", s.alice, ""), http.StatusBadRequest, "INVALID_EVIDENCE", `"maybe"`)

	var res order.CheckResult
	s.wantJSON(t, s.do(t, "POST", "/api/v1/orders/"+o.ID+"/checks?evidence=false", s.alice, ""), http.StatusOK, &res)
	if len(res.Domains) != 2 {
		t.Fatalf("check: %+v", res)
	}
	for _, d := range res.Domains {
		if len(d.Evidence) != 0 || len(d.Findings) == 0 || len(d.Matrix) == 0 {
			t.Errorf("%s: %d evidence, %d findings, %d matrix rows; want no evidence, the findings and the matrix", d.Domain, len(d.Evidence), len(d.Findings), len(d.Matrix))
		}
	}

	page := func(q string) []order.CheckResult {
		var checks struct {
			Checks []order.CheckResult `json:"checks"`
		}
		s.wantJSON(t, s.do(t, "GET", "/api/v1/orders/"+o.ID+"/checks"+q, s.alice, ""), http.StatusOK, &checks)
		return checks.Checks
	}
	full := page("")
	if len(full) != 1 || len(full[0].Domains) != 2 || len(full[0].Domains[0].Evidence) == 0 {
		t.Fatalf("stored check without its evidence: %+v", full)
	}
	lean := page("?evidence=false")
	if len(lean) != 1 || len(lean[0].Domains) != 2 || len(lean[0].Domains[1].Evidence) != 0 || len(lean[0].Domains[1].Findings) == 0 || lean[0].CheckID != full[0].CheckID {
		b, _ := json.Marshal(lean)
		t.Fatalf("lean list: %s", b)
	}
	wantError(t, s.do(t, "GET", "/api/v1/orders/"+o.ID+"/checks?evidence=1", s.alice, ""), http.StatusBadRequest, "INVALID_EVIDENCE")

	s.clock.Add(order.DefaultCheckInterval + time.Second)
	s.wantJSON(t, s.do(t, "POST", "/api/v1/orders/"+o.ID+"/checks?evidence=true", s.alice, ""), http.StatusOK, &res)
	if len(res.Domains[0].Evidence) == 0 {
		t.Error("evidence=true answered no evidence")
	}

	// The Go client (and so `dcv order check`) asks for it.
	s.clock.Add(order.DefaultCheckInterval + time.Second)
	c, err := client.New(s.srv.URL, s.alice)
	if err != nil {
		t.Fatal(err)
	}
	cr, _, err := c.CheckWithoutEvidence(t.Context(), o.ID)
	if err != nil || len(cr.Domains) != 2 || len(cr.Domains[0].Evidence) != 0 || len(cr.Domains[0].Findings) == 0 {
		t.Fatalf("CheckWithoutEvidence = %+v, %v", cr, err)
	}
}

// A pre-flight check (POST /api/v1/checks) takes ?evidence=false too.
func TestPreflightWithoutEvidence(t *testing.T) {
	t.Parallel()
	s := setup(t)
	body := `{"domain":"pf.applicant.com","method":"dns","value":"v"}`
	var full, lean order.PreflightResult
	s.wantJSON(t, s.do(t, "POST", "/api/v1/checks", s.alice, body), http.StatusOK, &full)
	s.wantJSON(t, s.do(t, "POST", "/api/v1/checks?evidence=false", s.alice, body), http.StatusOK, &lean)
	if len(full.Evidence) == 0 || len(lean.Evidence) != 0 || len(lean.Findings) == 0 {
		t.Fatalf("evidence %d then %d, findings %d; want some, none, the findings", len(full.Evidence), len(lean.Evidence), len(lean.Findings))
	}
	wantError(t, s.do(t, "POST", "/api/v1/checks?evidence=0", s.alice, body), http.StatusBadRequest, "INVALID_EVIDENCE")
}
