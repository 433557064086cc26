package configs

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
)

func TestScanKeys(t *testing.T) {
	doc := strings.Join([]string{
		`top = 1 # a = comment`,           // 1
		`[ hypervisor ]`,                  // 2
		`vcpus = 2`,                       // 3
		`"quoted" = "a = b # c"`,          // 4
		`kernel_params = """`,             // 5
		`fake = 1`,                        // 6: inside a multi-line string
		`"""`,                             // 7
		`args = [`,                        // 8
		`  "[", # ]`,                      // 9
		`  'x = ]',`,                      // 10
		`]`,                               // 11
		`after = true`,                    // 12
		`[network]`,                       // 13
		`inner . dotted = 3`,              // 14
		`agent = { transport = "vsock" }`, // 15
		`lit = '''one`,                    // 16
		`two = 2'''`,                      // 17
		`last = 'x' # tail`,               // 18
	}, "\n")
	if _, err := toml.Decode(doc, new(map[string]any)); err != nil {
		t.Fatalf("test document is not TOML: %v", err)
	}
	l := scanKeys(doc)
	want := map[string]int{
		"top":                      1,
		"hypervisor":               2,
		"hypervisor.vcpus":         3,
		"hypervisor.quoted":        4,
		"hypervisor.kernel_params": 5,
		"hypervisor.args":          8,
		"hypervisor.after":         12,
		"network":                  13,
		"network.inner.dotted":     14,
		"network.agent":            15,
		"network.lit":              16,
		"network.last":             18,
	}
	if diff := cmp.Diff(want, l.exact); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	for key, line := range map[string]int{
		"network.agent.transport": 15, // inside the inline table
		"hypervisor.fake":         0,
		"nowhere":                 0,
	} {
		if got := l.lineOf(key); got != line {
			t.Errorf("lineOf(%q) = %d, want %d", key, got, line)
		}
	}
}

// TestScanKeysAgreesWithParser checks the scanner against the TOML parser on
// the embedded file: every key the parser sees is found on a line that
// starts with it.
func TestScanKeysAgreesWithParser(t *testing.T) {
	md, err := toml.Decode(DefaultTOML(), new(map[string]any))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(DefaultTOML(), "\n")
	l := scanKeys(DefaultTOML())
	for _, k := range md.Keys() {
		n := l.lineOf(k.String())
		if n == 0 {
			t.Errorf("%s: not found", k)
			continue
		}
		last := k[len(k)-1]
		if text := lines[n-1]; !strings.HasPrefix(text, last+" =") && text != "["+k.String()+"]" {
			t.Errorf("%s: placed on line %d %q", k, n, text)
		}
	}
}
