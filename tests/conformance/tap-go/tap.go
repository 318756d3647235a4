// Package tap is Berth's minimal stand-in for github.com/mndrix/tap-go, which
// Debian does not package. It implements only what the OCI runtime-tools
// validation tests and runtimetest call, and writes Test Anything Protocol
// version 13 to standard output (or to T.Writer).
//
// tools/fetch-runtime-tools places this directory into the GOPATH as
// github.com/mndrix/tap-go.
package tap

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// T is one TAP stream: a counter of test points and where they are written.
type T struct {
	count  *int // test points written so far, shared with Todo's copies
	Writer io.Writer
	// TODO marks the test points written through this T as "# TODO".
	TODO bool
}

// New returns a T that writes to standard output.
func New() *T {
	return &T{count: new(int), Writer: os.Stdout}
}

func (t *T) w() io.Writer {
	if t.Writer == nil {
		return os.Stdout
	}
	return t.Writer
}

func (t *T) n() *int {
	if t.count == nil {
		t.count = new(int)
	}
	return t.count
}

func (t *T) printf(format string, a ...interface{}) {
	fmt.Fprintf(t.w(), format, a...)
}

// Header writes the version line and, when testCount > 0, the plan.
// With testCount 0 the plan is written at the end by AutoPlan.
func (t *T) Header(testCount int) {
	t.printf("TAP version 13\n")
	if testCount > 0 {
		t.printf("1..%d\n", testCount)
	}
}

// Ok writes one test point, "ok" when test is true, else "not ok".
func (t *T) Ok(test bool, description string) {
	status := "ok"
	if !test {
		status = "not ok"
	}
	*t.n()++
	line := fmt.Sprintf("%s %d", status, *t.n())
	if description != "" {
		line += " - " + oneLine(description)
	}
	if t.TODO {
		line += " # TODO"
	}
	t.printf("%s\n", line)
}

// Pass writes a passing test point.
func (t *T) Pass(description string) { t.Ok(true, description) }

// Fail writes a failing test point.
func (t *T) Fail(description string) { t.Ok(false, description) }

// Skip writes count passing test points marked "# SKIP description".
func (t *T) Skip(count int, description string) {
	for i := 0; i < count; i++ {
		*t.n()++
		t.printf("ok %d # SKIP %s\n", *t.n(), oneLine(description))
	}
}

// Todo returns a T on the same stream whose test points are "# TODO".
// Both number their test points in one sequence.
func (t *T) Todo() *T {
	t.n()
	c := *t
	c.TODO = true
	return &c
}

// Count is the number of test points written so far.
func (t *T) Count() int { return *t.n() }

// AutoPlan writes the plan "1..N" for the N test points written so far;
// it goes last, after a Header(0).
func (t *T) AutoPlan() { t.printf("1..%d\n", t.Count()) }

// Diagnostic writes message as comment lines ("# ...").
func (t *T) Diagnostic(message string) {
	for _, l := range strings.Split(strings.TrimRight(message, "\n"), "\n") {
		if l == "" {
			t.printf("#\n")
		} else {
			t.printf("# %s\n", l)
		}
	}
}

// Diagnosticf is Diagnostic with fmt.Sprintf formatting.
func (t *T) Diagnosticf(format string, a ...interface{}) {
	t.Diagnostic(fmt.Sprintf(format, a...))
}

// YAML writes message as a YAML block ("  ---" ... "  ...") after the last
// test point. The block's body is JSON, which is a subset of YAML, so no YAML
// library is needed.
func (t *T) YAML(message interface{}) error {
	b, err := json.MarshalIndent(message, "  ", "  ")
	if err != nil {
		return err
	}
	t.printf("  ---\n  %s\n  ...\n", b)
	return nil
}

func oneLine(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r", " "), "\n", " ")
}
