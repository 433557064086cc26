package devicemgr

import (
	"encoding/json"
	"fmt"
	"strings"
)

// RewritePCIDeviceEnv rewrites the device plugin's variables in a
// container's environment from host to guest PCI addresses, given where
// each host function sits in the guest. PCIDEVICE_<RESOURCE> lists are
// rewritten address by address; in PCIDEVICE_<RESOURCE>_INFO the device
// keys and the generic provider's deviceID are. Every other entry is kept
// as is. A host address without a guest address is an error naming the
// variable: a container must never see a host address that means nothing
// (or another device) in its VM.
func RewritePCIDeviceEnv(env []string, hostToGuest map[string]string) ([]string, error) {
	out := make([]string, len(env))
	for i, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, PCIDeviceEnvPrefix) {
			out[i] = kv
			continue
		}
		var err error
		if strings.HasSuffix(k, infoSuffix) {
			v, err = rewriteInfo(k, v, hostToGuest)
		} else {
			v, err = rewriteList(k, v, hostToGuest)
		}
		if err != nil {
			return nil, err
		}
		out[i] = k + "=" + v
	}
	return out, nil
}

func translate(name, host string, hostToGuest map[string]string) (string, error) {
	guest, ok := hostToGuest[host]
	if !ok {
		return "", fmt.Errorf("%w: %s holds %q, which is not passed through to this sandbox", ErrUntranslatable, name, host)
	}
	return guest, nil
}

func rewriteList(name, value string, hostToGuest map[string]string) (string, error) {
	req, err := ParseBDFList(name, value)
	if err != nil {
		return "", err
	}
	guest := make([]string, len(req.BDFs))
	for i, bdf := range req.BDFs {
		if guest[i], err = translate(name, bdf, hostToGuest); err != nil {
			return "", err
		}
	}
	return strings.Join(guest, ","), nil
}

// rewriteInfo rewrites the keys and generic.deviceID of a device-info
// value. Other providers' values (the vfio provider's /dev/vfio/<group>
// mounts, say) are about the container's devices, not PCI addresses, and
// are kept.
func rewriteInfo(name, value string, hostToGuest map[string]string) (string, error) {
	var info DeviceInfo
	if err := json.Unmarshal([]byte(value), &info); err != nil {
		return "", fmt.Errorf("%w: %s is not device-info JSON: %w", ErrBadRequest, name, err)
	}
	out := make(DeviceInfo, len(info))
	for host, providers := range info {
		guest, err := translate(name, host, hostToGuest)
		if err != nil {
			return "", err
		}
		if g := providers["generic"]; g != nil && g["deviceID"] != "" {
			if g["deviceID"], err = translate(name, g["deviceID"], hostToGuest); err != nil {
				return "", err
			}
		}
		out[guest] = providers
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("encoding %s: %w", name, err)
	}
	return string(b), nil
}
