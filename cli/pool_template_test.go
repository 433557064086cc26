package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestIntegrationPoolTemplate fills a pool with pool.template: the first
// warm process builds the VM template, both warm VMs are clones of it
// (their QEMU maps its RAM file privately and restored its state), a
// create claims one and runs in it, and a drain stops the pool and removes
// the template.
func TestIntegrationPoolTemplate(t *testing.T) {
	e := newOCIEnv(t, "[pool]\nsize = 2\ntemplate = true\n")
	before := e.snapshot()
	e.mustKite("pool", "fill", "--wait")
	warm := readyOnes(e.poolStatus())
	if len(warm) != 2 {
		t.Fatalf("ready warm VMs after fill: %+v", e.poolStatus())
	}
	templates := filepath.Join(e.root, "pool", "templates")
	manifests, _ := filepath.Glob(filepath.Join(templates, "*", "template.json"))
	if len(manifests) != 1 {
		t.Fatalf("templates after fill: %v, want one", manifests)
	}
	ram := filepath.Join(filepath.Dir(manifests[0]), "ram")
	for _, w := range warm {
		cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(slotQEMU(t, w.Dir)) + "/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		args := strings.Split(string(cmdline), "\x00")
		if !strings.Contains(string(cmdline), "mem-path="+ram+",share=off") || !containsSeq(args, "-incoming", "defer") {
			t.Errorf("warm VM %s is not a clone of %s: %q", w.Slot, ram, args)
		}
		t.Logf("warm VM %s ready in %v", w.Slot, w.Boot)
	}

	bundle := e.bundle([]string{"sleep", "1000"}, nil)
	e.mustKite("create", "--bundle", bundle, "p1")
	if rec := e.recorded("p1"); rec.Pid != warm[0].Pid && rec.Pid != warm[1].Pid {
		t.Errorf("the sandbox process is %d, want one of the warm processes %d, %d", rec.Pid, warm[0].Pid, warm[1].Pid)
	}
	e.mustKite("start", "p1")
	if code, out, errOut := e.kite("exec", "p1", "--", "echo", "from a clone"); code != 0 || out != "from a clone\n" {
		t.Errorf("exec in the clone: %d %q %q", code, out, errOut)
	}
	e.mustKite("delete", "--force", "p1")

	out := e.mustKite("pool", "drain")
	if !strings.Contains(out, "removed 1 VM templates") {
		t.Errorf("drain said %q", out)
	}
	if entries, _ := os.ReadDir(templates); len(entries) != 0 {
		t.Errorf("templates after drain: %v", entries)
	}
	os.RemoveAll(e.root + "/pool")
	e.audit(before, "a templated pool's life")
}

func containsSeq(args []string, a, b string) bool {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == a && args[i+1] == b {
			return true
		}
	}
	return false
}
