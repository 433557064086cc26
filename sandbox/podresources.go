package sandbox

import (
	"context"
	"log/slog"
	"time"

	"github.com/kite-vm/kite/devicemgr/podres"
	"github.com/kite-vm/kite/spec"
)

// CRI annotations naming a pod, on its sandbox container (containerd's).
const (
	annotationSandboxName      = "io.kubernetes.cri.sandbox-name"
	annotationSandboxNamespace = "io.kubernetes.cri.sandbox-namespace"
)

// podResourcesTimeout bounds asking the kubelet: a pod must not wait on
// a kubelet that does not answer (its functions are then hot-plugged).
const podResourcesTimeout = 5 * time.Second

// collectPodResources asks the kubelet's PodResources API, when
// devices.pod_resources_socket names it and first is a CRI pod's sandbox
// container, what it assigned to the pod's containers: their PCI
// functions, to attach at boot, and their exclusive CPUs. Hot plug stays
// the fallback: a kubelet that does not answer, or does not know the pod
// yet, is logged and the pod boots without them.
func collectPodResources(sc Config, first *spec.Container, f *facts) {
	socket := sc.Config.Devices.PodResourcesSocket
	ns, name := first.Annotations[annotationSandboxNamespace], first.Annotations[annotationSandboxName]
	if socket == "" || !infraContainer(first) || name == "" {
		return
	}
	log := sc.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithTimeout(context.Background(), podResourcesTimeout)
	defer cancel()
	pod, err := podres.Query(ctx, socket, ns, name)
	switch {
	case err != nil:
		log.Warn("asking the kubelet for the pod's devices: they will be hot-plugged", "pod", ns+"/"+name, "err", err)
		return
	case pod == nil:
		log.Info("the kubelet lists no resources for the pod yet: its devices will be hot-plugged", "pod", ns+"/"+name)
		return
	}
	f.podDevices, f.podCPUs = pod.Requests(), pod.CPUs()
	log.Info("the pod's devices from the kubelet", "pod", ns+"/"+name, "requests", len(f.podDevices), "cpus", f.podCPUs)
}
