package qemu

const vmgenidKind = "vmgenid"

// VMGenID is the VM generation id device (vmgenid): a GUID the guest reads
// through ACPI, which tells it that it runs as a new copy of a saved VM
// when the GUID changes. A VM restored from a saved state with another GUID
// than the one saved notifies the guest, whose kernel then reseeds its
// random number generator (Linux's vmgenid driver, 5.18+). Q35 only: the
// ACPI tables that describe it are q35's.
type VMGenID struct {
	ID string
	// GUID is "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in hex: fresh for
	// every copy of a VM.
	GUID string
}

// Validate checks the spec alone.
func (v VMGenID) Validate() error {
	if err := checkID(vmgenidKind, v.ID); err != nil {
		return err
	}
	if !isGUID(v.GUID) {
		return invalid(vmgenidKind, v.ID, "GUID", "%q is not a GUID (8-4-4-4-12 hex digits)", v.GUID)
	}
	return nil
}

// Parts returns the device.
func (v VMGenID) Parts(FDs) Parts {
	return Parts{Devices: []DeviceProps{{Driver: "vmgenid", ID: v.ID, Props: []Prop{Str("guid", v.GUID)}}}}
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
				return false
			}
		}
	}
	return true
}
