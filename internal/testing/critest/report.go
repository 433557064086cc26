package critest

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// Spec is one critest spec's outcome.
type Spec struct {
	Name    string // container texts and the leaf text, joined by spaces
	State   string // ginkgo's: passed, failed, skipped, pending, panicked, timedout, ...
	RunTime time.Duration
	Failure string // the failure's message, for what did not pass
}

// Passed reports whether the spec passed.
func (s Spec) Passed() bool { return s.State == "passed" }

// Skipped reports whether the spec did not run: skipped by a flag or by
// itself (a feature the host lacks), or pending.
func (s Spec) Skipped() bool { return s.State == "skipped" || s.State == "pending" }

// ginkgoReport is the part of a ginkgo v2 JSON report read here.
type ginkgoReport struct {
	SpecReports []struct {
		ContainerHierarchyTexts []string
		LeafNodeText            string
		LeafNodeType            string
		State                   string
		RunTime                 time.Duration
		Failure                 struct{ Message string }
	}
}

// ReadReport reads the specs (It nodes) of a ginkgo JSON report.
func ReadReport(path string) ([]Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("critest report: %w", err)
	}
	var suites []ginkgoReport
	if err := json.Unmarshal(data, &suites); err != nil {
		return nil, fmt.Errorf("critest report %s: %w", path, err)
	}
	var specs []Spec
	for _, s := range suites {
		for _, r := range s.SpecReports {
			if r.LeafNodeType != "It" {
				continue
			}
			name := strings.Join(append(slices.Clone(r.ContainerHierarchyTexts), r.LeafNodeText), " ")
			specs = append(specs, Spec{Name: name, State: r.State, RunTime: r.RunTime, Failure: r.Failure.Message})
		}
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("critest report %s holds no spec", path)
	}
	return specs, nil
}

// Counts are a run's totals.
type Counts struct{ Passed, Failed, Skipped int }

// Count adds up specs.
func Count(specs []Spec) Counts {
	var c Counts
	for _, s := range specs {
		switch {
		case s.Passed():
			c.Passed++
		case s.Skipped():
			c.Skipped++
		default:
			c.Failed++
		}
	}
	return c
}

func (c Counts) String() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", c.Passed, c.Failed, c.Skipped)
}

// Regressions returns the specs that passed in base and did not pass in
// other, as other reports them, in base's order.
func Regressions(base, other []Spec) []Spec {
	byName := map[string]Spec{}
	for _, s := range other {
		byName[s.Name] = s
	}
	var out []Spec
	for _, b := range base {
		if !b.Passed() {
			continue
		}
		o, ok := byName[b.Name]
		if !ok {
			o = Spec{Name: b.Name, State: "missing"}
		}
		if !o.Passed() {
			out = append(out, o)
		}
	}
	return out
}
