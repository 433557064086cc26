package protocol_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// declaration matches what must carry a comment in agent.proto: services,
// RPCs, messages, enums, fields and enum values.
var declaration = regexp.MustCompile(
	`^(service|rpc|message|enum)\s|^(optional\s+|repeated\s+)?[\w.]+\s+\w+\s*=\s*\d+;|^[A-Z][A-Z0-9_]*\s*=\s*\d+;`)

// undocumented returns "line: text" for each declaration without a comment
// right above it, and how many declarations it saw.
func undocumented(r io.Reader) (missing []string, checked int, err error) {
	var prev string
	n := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if declaration.MatchString(line) {
			checked++
			if !strings.HasPrefix(prev, "//") {
				missing = append(missing, fmt.Sprintf("%d: %s", n, line))
			}
		}
		prev = line
	}
	return missing, checked, sc.Err()
}

func TestUndocumentedFindsBareDeclarations(t *testing.T) {
	const src = `// M is documented.
message M {
  // a is documented.
  string a = 1;
  repeated uint32 b = 2;
  optional int64 c = 3;
}
enum E {
  // Documented.
  E_UNSPECIFIED = 0;
  E_ONE = 1;
}
`
	missing, checked, err := undocumented(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"5: repeated uint32 b = 2;", "6: optional int64 c = 3;", "8: enum E {", "11: E_ONE = 1;"}
	if diff := cmp.Diff(want, missing); diff != "" {
		t.Errorf("undocumented (-want +got):\n%s", diff)
	}
	if checked != 7 {
		t.Errorf("checked %d declarations, want 7", checked)
	}
}

// TestEveryDeclarationIsDocumented keeps the API self-describing: the agent
// is written by others from agent.proto alone.
func TestEveryDeclarationIsDocumented(t *testing.T) {
	f, err := os.Open("agent.proto")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	missing, checked, err := undocumented(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range missing {
		t.Errorf("agent.proto:%s has no comment above it", m)
	}
	if checked < 100 {
		t.Fatalf("checked only %d declarations: the pattern no longer matches agent.proto", checked)
	}
}
