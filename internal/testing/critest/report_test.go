package critest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A ginkgo v2 JSON report, cut down to what ReadReport reads, plus a
// BeforeSuite node it must leave out.
const testReport = `[{"SuiteDescription": "CRI validation", "SpecReports": [
 {"ContainerHierarchyTexts": null, "LeafNodeText": "", "LeafNodeType": "BeforeSuite", "State": "passed", "RunTime": 1000},
 {"ContainerHierarchyTexts": ["[k8s.io] Container", "runtime should support basic operations on container"],
  "LeafNodeText": "runtime should support execSync [Conformance]", "LeafNodeType": "It", "State": "passed", "RunTime": 2000000000},
 {"ContainerHierarchyTexts": ["[k8s.io] Streaming", "runtime should support streaming interfaces"],
  "LeafNodeText": "runtime should support portforward [Conformance]", "LeafNodeType": "It", "State": "failed", "RunTime": 5000000000,
  "Failure": {"Message": "failed to connect to localhost:80"}},
 {"ContainerHierarchyTexts": ["[k8s.io] Image Manager"], "LeafNodeText": "public image with tag should be pulled and removed [Conformance]",
  "LeafNodeType": "It", "State": "skipped", "RunTime": 0}
]}]`

func TestReadReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(path, []byte(testReport), 0o644); err != nil {
		t.Fatal(err)
	}
	specs, err := ReadReport(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Spec{
		{Name: "[k8s.io] Container runtime should support basic operations on container runtime should support execSync [Conformance]", State: "passed", RunTime: 2e9},
		{Name: "[k8s.io] Streaming runtime should support streaming interfaces runtime should support portforward [Conformance]", State: "failed", RunTime: 5e9, Failure: "failed to connect to localhost:80"},
		{Name: "[k8s.io] Image Manager public image with tag should be pulled and removed [Conformance]", State: "skipped"},
	}
	if diff := cmp.Diff(want, specs); diff != "" {
		t.Errorf("specs (-want +got):\n%s", diff)
	}
	if got := Count(specs); got != (Counts{Passed: 1, Failed: 1, Skipped: 1}) {
		t.Errorf("Count = %v", got)
	}
}

func TestReadReportRefusesEmptyAndBroken(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{"empty.json": `[{"SpecReports": []}]`, "broken.json": `[{"SpecReports": `} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadReport(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("ReadReport(%s) = %v, want an error naming it", name, err)
		}
	}
	if _, err := ReadReport(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("ReadReport of a missing file succeeded")
	}
}

func TestRegressions(t *testing.T) {
	base := []Spec{{Name: "a", State: "passed"}, {Name: "b", State: "passed"}, {Name: "c", State: "failed"}, {Name: "d", State: "passed"}, {Name: "e", State: "passed"}}
	other := []Spec{{Name: "a", State: "passed"}, {Name: "b", State: "failed", Failure: "x"}, {Name: "c", State: "failed"}, {Name: "e", State: "timedout"}}
	want := []Spec{{Name: "b", State: "failed", Failure: "x"}, {Name: "d", State: "missing"}, {Name: "e", State: "timedout"}}
	if diff := cmp.Diff(want, Regressions(base, other)); diff != "" {
		t.Errorf("Regressions (-want +got):\n%s", diff)
	}
}

func TestSkipPatternCoversOnlyRegistrySpecs(t *testing.T) {
	re := regexp.MustCompile(SkipPattern())
	for name, skip := range map[string]bool{
		"[k8s.io] Image Manager public image with digest should be pulled and removed [Conformance]":                            true,
		"[k8s.io] Image Identifier Consistency should return the same image identifier across all APIs [Conformance]":           true,
		"[k8s.io] Image Consistency should not fail on simultaneous RemoveImage calls [Conformance]":                            true,
		"[k8s.io] Image Volume [Feature:ImageVolume] should correctly mount image and enforce read-only":                        true,
		"[k8s.io] Idempotence RemoveImage should not return an error if not found":                                              false,
		"[k8s.io] Container runtime should support basic operations on container runtime should support execSync [Conformance]": false,
		"[k8s.io] Streaming runtime should support streaming interfaces runtime should support portforward [Conformance]":       false,
	} {
		if re.MatchString(name) != skip {
			t.Errorf("SkipPattern() matches %q: %v, want %v", name, !skip, skip)
		}
	}
	for _, s := range RegistrySpecs {
		if s.Reason == "" {
			t.Errorf("%s: no reason", s.Pattern)
		}
	}
}
