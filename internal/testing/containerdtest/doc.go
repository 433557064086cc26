// Package containerdtest runs a containerd for tests and tools, at a chosen
// release: Debian's containerd 1.6 on PATH, or a 1.7 or 2.x built from the
// Go module proxy by scripts/build-containerd.sh and cached under
// /var/lib/kite/containerd/<version>. Each one gets its own configuration
// (version 2 for containerd 1.x, version 3 for 2.x: Config.TOML), root,
// state and socket under a directory the caller owns, so it never meets the
// host's containerd.
//
//	rels, err := containerdtest.Releases()       // KITE_TEST_CONTAINERD, else PATH's
//	c, err := containerdtest.Start(ctx, rels[0], containerdtest.Config{Dir: dir, CRI: &cri})
//	defer c.Stop()
//	out, err := c.Ctr(ctx, "k8s.io", "images", "ls").CombinedOutput()
//
// Images are built locally (no registry): BuildImage writes an OCI layout
// with umoci from a root file system the caller populates (busybox-static,
// files from Debian packages), and Containerd.Import imports it.
package containerdtest
