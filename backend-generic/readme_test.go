package generic_test

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReadmeQuickstartIsTheExample keeps the README's quickstart compiling:
// its code block must be the body of Example_quickstart, which go test
// compiles and runs.
func TestReadmeQuickstartIsTheExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatalf("reading the README: %v", err)
	}
	example, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	got := codeBlockAfter(t, string(readme), "## Quickstart")
	want := functionBody(t, string(example), "func Example_quickstart() {")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("README quickstart differs from Example_quickstart (-example +readme):\n%s", diff)
	}
}

// codeBlockAfter returns the lines inside the first ```go block after the
// heading, without the package/import/func wrapper lines, unindented.
func codeBlockAfter(t *testing.T, doc, heading string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, heading)
	if !ok {
		t.Fatalf("README has no %q heading", heading)
	}
	_, rest, ok = strings.Cut(rest, "```go\n")
	if !ok {
		t.Fatalf("no ```go block after %q", heading)
	}
	block, _, _ := strings.Cut(rest, "```")
	body := functionBody(t, block, "func main() {")
	return body
}

// functionBody returns the trimmed, non-empty lines of the function that
// starts with the given line, up to its closing brace, minus the Output
// comment.
func functionBody(t *testing.T, src, start string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(src, start+"\n")
	if !ok {
		t.Fatalf("no %q", start)
	}
	body, _, ok := strings.Cut(rest, "\n}\n")
	if !ok {
		t.Fatalf("no end of %q", start)
	}
	var lines []string
	for _, l := range strings.Split(body, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "// Output:") {
			continue
		}
		if strings.HasPrefix(l, "// ") && (strings.Contains(body, "// Output:") && isOutputLine(body, l)) {
			continue
		}
		lines = append(lines, l)
	}
	return lines
}

// isOutputLine reports whether l is one of the lines after "// Output:".
func isOutputLine(body, l string) bool {
	_, out, _ := strings.Cut(body, "// Output:")
	for _, o := range strings.Split(out, "\n") {
		if strings.TrimSpace(o) == l {
			return true
		}
	}
	return false
}
