// Package critest runs the CRI validation suite of sigs.k8s.io/cri-tools
// (critest, built by scripts/build-critest.sh and cached under
// /var/lib/kite/critest) against containerd's CRI plugin with two runtime
// handlers, runc (the baseline) and kite, and compares them.
//
// No registry is reachable: the images critest runs (busybox, nginx, httpd,
// nonewprivs, the hostnet nginx and the predefined-group image) are built
// locally (Images) from busybox-static, Debian's nginx package and a small
// set-user-ID program (nnp/), and imported under the names critest uses.
// Only the specs that pull from a registry are skipped (RegistrySpecs, each
// with its reason).
//
// `make critest` runs the whole suite through scripts/critest; `make test`
// runs the subset of TestIntegrationCritest.
package critest
