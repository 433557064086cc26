package vm_test

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
)

// fakeVirtiofsdEnv makes the test binary a fake virtiofsd that serves its
// --socket-path until SIGTERM, so that a boot gets past its shares without
// root. (fsshare's tests have the fake with every failure mode; this is its
// "serve" mode alone.)
const fakeVirtiofsdEnv = "KITE_VM_FAKE_VIRTIOFSD"

func TestMain(m *testing.M) {
	if os.Getenv(fakeVirtiofsdEnv) != "" {
		os.Exit(fakeVirtiofsd(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeVirtiofsd(args []string) int {
	var socket string
	for _, a := range args {
		if s, ok := strings.CutPrefix(a, "--socket-path="); ok {
			socket = s
		}
	}
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, syscall.SIGTERM)
	ln, err := net.Listen("unix", socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 5
	}
	defer ln.Close()
	if os.Getenv(fakeVirtiofsdEnv) == fakeVirtiofsdDies {
		// Dies as soon as its vhost-user client has connected, as a
		// virtiofsd killed under a booting VM does.
		c, err := ln.Accept()
		if err != nil {
			return 5
		}
		fmt.Fprintln(os.Stderr, "fake virtiofsd: client connected; dying")
		c.Close()
		return 3
	}
	<-terms
	return 0
}

// fakeVirtiofsdDies as fakeVirtiofsdEnv's value makes the fake exit 3 as
// soon as a client connects.
const fakeVirtiofsdDies = "die"

// fakeVirtiofsdPath is a shared_fs.virtiofsd_path that runs the fake.
func fakeVirtiofsdPath(t *testing.T) string {
	t.Helper()
	t.Setenv(fakeVirtiofsdEnv, "1")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}
