// Command containerd-shim-kite-v2 is Kite's containerd shim v2, the runtime
// io.containerd.kite.v2: containerd runs it to start and delete tasks, each
// pod in its own VM. See package shim for what it does and
// docs/containerd.md for how to configure containerd and Kubernetes.
package main

import (
	"os"

	"github.com/kite-vm/kite/shim"
)

func main() {
	os.Exit(shim.Main(os.Args[1:], os.Stdout, os.Stderr))
}
