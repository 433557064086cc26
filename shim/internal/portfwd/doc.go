// Package portfwd carries the CRI's port-forward into a pod's VM.
//
// containerd (1.6 through 2.x) forwards a port of a pod by entering the
// pod's network namespace and dialing localhost:PORT there (IPv4, then
// IPv6). With Kite nothing listens in that namespace: the workload runs in
// the VM, which owns the pod's address. A Forwarder makes those dials reach
// the guest:
//
//   - an iptables nat OUTPUT rule in the pod netns redirects every TCP
//     connection to 127.0.0.1 to the forwarder's one listener, which the
//     shim opened in the pod netns;
//   - the forwarder reads the port that was asked for (SO_ORIGINAL_DST) and
//     relays the connection to the pod's address at that port, dialed from
//     the shim's own netns: the path a kubelet probe takes, through the pod
//     network into the VM.
//
// The rule lives and dies with the pod netns (nothing is added to the host's
// own tables). What it cannot reach: a guest process listening only on the
// guest's 127.0.0.1, which runc would reach; listeners on the pod address or
// on any address are reached.
package portfwd
