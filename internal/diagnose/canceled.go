package diagnose

// CodeOrderCanceled: the order was canceled (by its account or an admin):
// it is checked and issued no more. Blocking, final.
const CodeOrderCanceled Code = "ORDER_CANCELED"

// Message ids of ORDER_CANCELED.
const (
	msgOrderCanceled msg = "msgOrderCanceled"
	fixOrderCanceled msg = "fixOrderCanceled"
)

func init() {
	extend(CodeValueExpired, map[Code]string{CodeOrderCanceled: "Order canceled"}, map[msg]string{
		msgOrderCanceled: "The order was %[1]s: it is checked and issued no more, and its values are no longer usable.",
		fixOrderCanceled: "Place a new order for this domain to get a certificate for it.",
	}, CodeOrderCanceled)
}

// OrderCanceled is the finding of each domain of a canceled order; how is
// the order's error ("canceled by its account at …").
func OrderCanceled(how string) Finding {
	return Finding{
		Code:     CodeOrderCanceled,
		Severity: SeverityError,
		Message:  catalogEN.f(msgOrderCanceled, Truncate(how, maxDetailShown)),
		Fix:      catalogEN.f(fixOrderCanceled),
	}
}
