package devicemgr

import (
	"encoding/json"
	"fmt"
	"strings"
)

// GuestFunction is where a host function ended up in the guest.
type GuestFunction struct {
	// Addr is its guest PCI address (0000:02:00.0).
	Addr string
	// VFIONode is its guest /dev/vfio/<group> when the guest bound it to
	// vfio-pci (devices.vfio_mode "vfio"), "" when a guest driver holds it.
	VFIONode string
}

// vfioProvider is the device-info provider key of a function's VFIO
// nodes, and its two keys.
const (
	vfioProvider = "vfio"
	vfioMount    = "mount"     // the container node, /dev/vfio/vfio
	vfioDevMount = "dev-mount" // the group node
)

// RewritePCIDeviceEnv rewrites the device plugin's variables in a
// container's environment from host to guest terms, given where each host
// function sits in the guest. PCIDEVICE_<RESOURCE> lists are rewritten
// address by address; in PCIDEVICE_<RESOURCE>_INFO the device keys and
// the generic provider's deviceID are, and the vfio provider's nodes name
// the guest's group node (vfio mode) or are dropped (a guest driver holds
// the function: there is no /dev/vfio for it in the container). Every other
// entry is kept as is. A host address without a guest address is an error
// naming the variable: a container must never see a host address or node
// that means nothing (or another device) in its VM.
func RewritePCIDeviceEnv(env []string, guest map[string]GuestFunction) ([]string, error) {
	out := make([]string, len(env))
	for i, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, PCIDeviceEnvPrefix) {
			out[i] = kv
			continue
		}
		var err error
		if strings.HasSuffix(k, infoSuffix) {
			v, err = rewriteInfo(k, v, guest)
		} else {
			v, err = rewriteList(k, v, guest)
		}
		if err != nil {
			return nil, err
		}
		out[i] = k + "=" + v
	}
	return out, nil
}

func translate(name, host string, guest map[string]GuestFunction) (GuestFunction, error) {
	g, ok := guest[host]
	if !ok {
		return GuestFunction{}, fmt.Errorf("%w: %s holds %q, which is not passed through to this sandbox", ErrUntranslatable, name, host)
	}
	return g, nil
}

func rewriteList(name, value string, guest map[string]GuestFunction) (string, error) {
	req, err := ParseBDFList(name, value)
	if err != nil {
		return "", err
	}
	addrs := make([]string, len(req.BDFs))
	for i, bdf := range req.BDFs {
		g, err := translate(name, bdf, guest)
		if err != nil {
			return "", err
		}
		addrs[i] = g.Addr
	}
	return strings.Join(addrs, ","), nil
}

// rewriteInfo rewrites the keys, generic.deviceID and the vfio provider of
// a device-info value. Other providers' values are kept.
func rewriteInfo(name, value string, guest map[string]GuestFunction) (string, error) {
	var info DeviceInfo
	if err := json.Unmarshal([]byte(value), &info); err != nil {
		return "", fmt.Errorf("%w: %s is not device-info JSON: %w", ErrBadRequest, name, err)
	}
	out := make(DeviceInfo, len(info))
	for host, providers := range info {
		g, err := translate(name, host, guest)
		if err != nil {
			return "", err
		}
		if gen := providers["generic"]; gen != nil && gen["deviceID"] != "" {
			id, err := translate(name, gen["deviceID"], guest)
			if err != nil {
				return "", err
			}
			gen["deviceID"] = id.Addr
		}
		if providers != nil {
			if g.VFIONode == "" {
				delete(providers, vfioProvider)
			} else {
				providers[vfioProvider] = map[string]string{vfioMount: VFIOContainerNode, vfioDevMount: g.VFIONode}
			}
		}
		out[g.Addr] = providers
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("encoding %s: %w", name, err)
	}
	return string(b), nil
}
