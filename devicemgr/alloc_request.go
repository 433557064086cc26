package devicemgr

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kite-vm/kite/internal/pci"
)

// Allocation errors. Each is wrapped with the device, variable or path it
// is about.
var (
	// ErrBadRequest marks a malformed request: a bad BDF, an empty or
	// unparsable PCIDEVICE_* variable, a /dev/vfio path without a group.
	ErrBadRequest = errors.New("malformed device request")
	// ErrUnknownDevice marks a function or IOMMU group the host does not have.
	ErrUnknownDevice = errors.New("no such PCI function")
	// ErrAllocated marks a function (or its IOMMU group) another sandbox holds.
	ErrAllocated = errors.New("PCI function allocated to another sandbox")
	// ErrNoCandidate marks a pool without enough free functions.
	ErrNoCandidate = errors.New("not enough free PCI functions")
	// ErrUntranslatable marks a host PCI address with no guest address.
	ErrUntranslatable = errors.New("PCI address has no guest address")
)

// PCIDeviceEnvPrefix starts the variables the SR-IOV device plugin (and
// others following the Network Plumbing WG device-info convention) sets in a
// container: PCIDEVICE_<RESOURCE>=bdf[,bdf...] and PCIDEVICE_<RESOURCE>_INFO.
const PCIDeviceEnvPrefix = "PCIDEVICE_"

// infoSuffix ends the device-info companion variable of PCIDEVICE_<RESOURCE>.
const infoSuffix = "_INFO"

// ValidBDF reports whether s is a PCI address as sysfs writes it
// (0000:3b:02.1): see pci.ParseAddress.
func ValidBDF(s string) bool {
	_, err := pci.ParseAddress(s)
	return err == nil
}

// ExactRequest asks for these very functions (the device plugin chose them,
// or the user listed them).
type ExactRequest struct {
	Source string // named in errors: the variable, annotation or flag
	BDFs   []string
}

// GroupRequest asks for every function of an IOMMU group, as an OCI
// linux.devices entry /dev/vfio/<group> does.
type GroupRequest struct {
	Source string // the device path
	Group  int
}

// PoolRequest asks Kite to choose Count functions from a pool.
type PoolRequest struct {
	Source string
	Pool   string
	Count  int
}

// Requests are all of a sandbox's device requests.
type Requests struct {
	Exact  []ExactRequest
	Groups []GroupRequest
	Pools  []PoolRequest
}

// ParseBDFList parses a comma-separated list of BDFs; source names it in
// errors. Blanks around commas are ignored; an empty list is an error.
func ParseBDFList(source, list string) (ExactRequest, error) {
	req := ExactRequest{Source: source}
	for _, f := range strings.Split(list, ",") {
		bdf := strings.TrimSpace(f)
		if _, err := pci.ParseAddress(bdf); err != nil {
			return ExactRequest{}, fmt.Errorf("%w: %s: %w", ErrBadRequest, source, err)
		}
		if slices.Contains(req.BDFs, bdf) {
			return ExactRequest{}, fmt.Errorf("%w: %s lists %s twice", ErrBadRequest, source, bdf)
		}
		req.BDFs = append(req.BDFs, bdf)
	}
	return req, nil
}

// DeviceInfo is the value of PCIDEVICE_<RESOURCE>_INFO: for each allocated
// device ID (its PCI address), the device-info providers' key/value maps,
// e.g. {"0000:3b:02.1": {"generic": {"deviceID": "0000:3b:02.1"},
// "vfio": {"mount": "/dev/vfio/vfio", "dev-mount": "/dev/vfio/42"}}}.
type DeviceInfo map[string]map[string]map[string]string

// ParsePCIDeviceEnv reads the device plugin's variables from a container's
// environment (KEY=VALUE entries): one exact request per PCIDEVICE_<RESOURCE>
// in the order found, checked against its _INFO companion when present
// (valid JSON keyed by the same addresses).
func ParsePCIDeviceEnv(env []string) ([]ExactRequest, error) {
	vars := map[string]string{}
	var order []string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, PCIDeviceEnvPrefix) {
			vars[k] = v
			order = append(order, k)
		}
	}
	var reqs []ExactRequest
	for _, k := range order {
		if base, ok := strings.CutSuffix(k, infoSuffix); ok {
			if _, has := vars[base]; !has {
				return nil, fmt.Errorf("%w: %s has no %s beside it", ErrBadRequest, k, base)
			}
			continue
		}
		req, err := ParseBDFList(k, vars[k])
		if err != nil {
			return nil, err
		}
		if info, ok := vars[k+infoSuffix]; ok {
			if err := checkInfo(k+infoSuffix, info, req.BDFs); err != nil {
				return nil, err
			}
		}
		reqs = append(reqs, req)
	}
	return reqs, nil
}

// checkInfo checks that an _INFO value is device-info JSON describing
// exactly the listed addresses.
func checkInfo(name, value string, bdfs []string) error {
	var info DeviceInfo
	if err := json.Unmarshal([]byte(value), &info); err != nil {
		return fmt.Errorf("%w: %s is not device-info JSON: %w", ErrBadRequest, name, err)
	}
	for id := range info {
		if !slices.Contains(bdfs, id) {
			return fmt.Errorf("%w: %s describes %q, which its PCIDEVICE list does not name", ErrBadRequest, name, id)
		}
	}
	return nil
}
