package qmp_test

import (
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

// testdata/query-cpus-fast.json is QEMU 7.2's answer for -smp 2 on q35
// under multi-threaded TCG.
func TestQueryCPUs(t *testing.T) {
	recorded, err := os.ReadFile("testdata/query-cpus-fast.json")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := start(t, qmptest.Expect("query-cpus-fast", "").Returns(string(recorded)))
	got, err := c.QueryCPUs(testContext(t))
	if err != nil {
		t.Fatalf("QueryCPUs: %v", err)
	}
	want := []qmp.CPU{
		{Index: 0, ThreadID: 29034, QOMPath: "/machine/unattached/device[0]", Target: "x86_64"},
		{Index: 1, ThreadID: 29035, QOMPath: "/machine/unattached/device[2]", Target: "x86_64"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("QueryCPUs (-want +got):\n%s", diff)
	}
}

func TestQueryCPUsError(t *testing.T) {
	c, _ := start(t, qmptest.Expect("query-cpus-fast", "").Fails("GenericError", "no CPUs"))
	_, err := c.QueryCPUs(testContext(t))
	var qe *qmp.Error
	if !errors.As(err, &qe) || qe.Command != "query-cpus-fast" || qe.Desc != "no CPUs" {
		t.Fatalf("QueryCPUs error = %v, want a *qmp.Error for query-cpus-fast", err)
	}
}
