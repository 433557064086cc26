package tether

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test binary re-executed as an owner: it starts a tethered sleep from
// a goroutine whose thread then dies, prints the sleep's pid, and waits to
// be killed.
func TestMain(m *testing.M) {
	if os.Getenv("TETHER_TEST_OWNER") == "1" {
		runOwner()
		return
	}
	os.Exit(m.Run())
}

func runOwner() {
	pid := make(chan int)
	go func() {
		// This goroutine's thread is retired when it ends locked: a child
		// forked from it with a plain Pdeathsig would die here.
		runtime.LockOSThread()
		cmd := exec.Command("sleep", "1000")
		if err := Start(cmd); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		pid <- cmd.Process.Pid
	}()
	fmt.Println(<-pid)
	time.Sleep(time.Hour) // until killed
}

func TestChildDiesWithOwnerOnly(t *testing.T) {
	owner := exec.Command(os.Args[0], "-test.run=^$")
	owner.Env = append(os.Environ(), "TETHER_TEST_OWNER=1")
	out, err := owner.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Process.Kill(); owner.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the child's pid: %v", err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("owner said %q", line)
	}
	t.Cleanup(func() { killPid(child) })
	// The thread that asked for the start is gone; the child must not be.
	time.Sleep(200 * time.Millisecond)
	if !running(child) {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		t.Fatalf("the child died while its owner still runs: %s", data)
	}
	if err := owner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	owner.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for running(child) {
		if time.Now().After(deadline) {
			t.Fatal("the child outlived its owner")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// running reports whether pid runs and is not a zombie.
func running(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}

func killPid(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}
