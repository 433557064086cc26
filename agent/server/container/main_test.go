package container

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestMain lets the test binary double as the stage: the package re-executes
// /proc/self/exe, which is this binary. After the tests it fails the run if
// any child process is still alive: every test must leave none behind.
func TestMain(m *testing.M) {
	if IsStage() {
		StageMain()
	}
	code := m.Run()
	if left := liveChildren(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "processes left running by the tests: %v\n", left)
		code = 1
	}
	os.Exit(code)
}

// liveChildren lists this process's children that are not zombies.
func liveChildren() []string {
	entries, _ := os.ReadDir("/proc")
	var left []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[i+1:]) // state, ppid, ...
		if len(f) > 1 && f[0] != "Z" && f[1] == strconv.Itoa(os.Getpid()) {
			left = append(left, e.Name()+" "+s[:i+1])
		}
	}
	return left
}
