package diagnose

import (
	"fmt"
	"slices"
)

// extend registers the codes and English sentences of one feature, so each
// feature keeps its catalog beside its logic (call it from an init in the
// feature's file). Codes are inserted into the sort order just before
// before (at the end when before is empty). Registering a code or message
// twice panics: ids are unique across the package.
func extend(before Code, titles map[Code]string, text map[msg]string, codes ...Code) {
	for c, t := range titles {
		if _, dup := catalogEN.titles[c]; dup {
			panic(fmt.Sprintf("diagnose: code %s registered twice", c))
		}
		catalogEN.titles[c] = t
	}
	for m, t := range text {
		if _, dup := catalogEN.text[m]; dup {
			panic(fmt.Sprintf("diagnose: message %s registered twice", m))
		}
		catalogEN.text[m] = t
	}
	i := len(codeOrder)
	if before != "" {
		if j := slices.Index(codeOrder, before); j >= 0 {
			i = j
		}
	}
	codeOrder = slices.Insert(codeOrder, i, codes...)
	for i, c := range codeOrder {
		codeRank[c] = i
	}
}
