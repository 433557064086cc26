package benchmarks

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", name, diff)
	}
}

// wellFormed checks that doc parses as XML to the end.
func wellFormed(t *testing.T, name string, doc []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.Strict = false // HTML: <meta> and <!DOCTYPE> are not XML
	dec.AutoClose = xml.HTMLAutoClose
	dec.Entity = xml.HTMLEntity
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("%s is not well formed: %v", name, err)
		}
	}
}

func TestRenderGolden(t *testing.T) {
	run := fixtureRun("tcg", 1)
	var table, page bytes.Buffer
	if err := WriteTable(&table, run); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&page, run); err != nil {
		t.Fatal(err)
	}
	svg := []byte(RunSVG(run))
	wellFormed(t, "chart.svg", svg)
	wellFormed(t, "report.html", page.Bytes())
	golden(t, "table.txt", table.Bytes())
	golden(t, "report.html", page.Bytes())
	golden(t, "chart.svg", svg)
}

func TestRenderContent(t *testing.T) {
	run := fixtureRun("tcg", 1)
	var page bytes.Buffer
	if err := WriteHTML(&page, run); err != nil {
		t.Fatal(err)
	}
	html, svg := page.String(), RunSVG(run)
	for _, want := range []string{"TCG", "no pod netns in the runtime", "Storage &lt;in&gt; the guest", "<svg", "1.07x"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, banned := range []string{"<script", "src=", "href=\"http", "@import"} {
		if strings.Contains(html, banned) {
			t.Errorf("report is not self-contained: it has %q", banned)
		}
	}
	for _, want := range []string{"accelerator TCG", "network: skipped (no pod netns in the runtime)", "higher is better"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	if ResultSVG(run.Results[2]) != "" {
		t.Error("a result without metrics got a chart")
	}
}
