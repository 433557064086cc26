package benchmarks

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResultsRoundTrip(t *testing.T) {
	run := fixtureRun("tcg", 1)
	run.Interrupted = true
	dir := t.TempDir()
	if err := WriteReport(dir, run); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRun(filepath.Join(dir, ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(run, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	for _, name := range []string{ReportFile, ChartFile} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v, size %v", name, err, st)
		}
	}
}

func TestDecodeRunRefuses(t *testing.T) {
	var good bytes.Buffer
	if err := WriteJSON(&good, fixtureRun("kvm", 1)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, data, want string }{
		{"other schema", strings.Replace(good.String(), `"schema": 1`, `"schema": 2`, 1), "schema 2"},
		{"unknown field", strings.Replace(good.String(), `"schema": 1`, `"schema": 1, "colour": "red"`, 1), "colour"},
		{"not JSON", "<html>", "invalid character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRun(strings.NewReader(tc.data))
			if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeRun = %v, want ErrSchema mentioning %q", err, tc.want)
			}
		})
	}
}

func TestRatioAndFind(t *testing.T) {
	run := fixtureRun("tcg", 1)
	boot := run.Results[0]
	m := run.Find("boot", "agent ready", "kite")
	if m == nil {
		t.Fatal("Find: no boot/agent ready/kite")
	}
	if r, ok := Ratio(boot, m); !ok || r != 2600.0/2425.0 {
		t.Errorf("Ratio = %v, %v; want %v", r, ok, 2600.0/2425.0)
	}
	if _, ok := Ratio(boot, run.Find("boot", "agent ready", "bare")); ok {
		t.Error("the baseline has a ratio to itself")
	}
	if run.Find("boot", "agent ready", "nope") != nil || run.Find("nope", "agent ready", "kite") != nil {
		t.Error("Find matched a missing metric")
	}
}
