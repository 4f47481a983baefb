// Command dcv is a certificate authority's domain-control-validation
// service: `dcv serve` runs it; the other commands are its clients.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := newRootCmd()
	stdout := &countingWriter{w: os.Stdout}
	root.SetOut(stdout)
	cmd, err := root.ExecuteC()
	code, msg := exitStatus(err)
	if msg != "" {
		if wantsJSON(cmd) && stdout.n == 0 {
			// A script reading --json on standard output gets JSON there
			// for a refusal of the command itself too, in the shape of
			// the API's errors (unless the command printed its JSON
			// already: one document only).
			writeJSONError(os.Stdout, jsonErrorCode(err, code), jsonErrorMessage(err, msg))
		}
		fmt.Fprintln(os.Stderr, "dcv:", msg)
	}
	if code != 0 {
		os.Exit(code)
	}
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += n
	return n, err
}

// wantsJSON reports whether cmd was asked for --json.
func wantsJSON(cmd *cobra.Command) bool {
	if cmd == nil {
		return false
	}
	f := cmd.Flags().Lookup("json")
	return f != nil && f.Value.String() == "true"
}

// jsonErrorCode is the code --json reports for err, a refusal of the
// command itself that exits with status: the API's own code for a request
// refused before it was sent as the server would refuse it
// (INVALID_CHARACTER), else USAGE for a wrong flag or argument (exit
// status 2), FAILED otherwise.
func jsonErrorCode(err error, status int) string {
	var ee exitError
	switch {
	case errors.As(err, &ee) && ee.apiCode != "":
		return ee.apiCode
	case status == exitUsage:
		return "USAGE"
	default:
		return "FAILED"
	}
}

// jsonErrorMessage is the message --json reports for err: the API's own
// message of a request refused here as the server would refuse it (its
// code is said apart), else msg.
func jsonErrorMessage(err error, msg string) string {
	var ee exitError
	if errors.As(err, &ee) && ee.apiMsg != "" {
		return ee.apiMsg
	}
	return msg
}

// writeJSONError writes a refusal of the command itself (not the API's:
// those print the API's JSON) as {"error":{"code","message"}}, in the
// shape of the API's errors.
func writeJSONError(w io.Writer, code, msg string) {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = code, msg
	b, _ := json.Marshal(body)
	fmt.Fprintf(w, "%s\n", b)
}
