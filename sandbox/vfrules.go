package sandbox

import (
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/vfio"
)

// collectVFs reads which PF each function the sandbox passes through is
// a VF of (the claimed ones, the pod's VF netdevs), for the devices.vf
// rules to match.
func collectVFs(sc Config, f *facts) error {
	bdfs := make([]string, 0, len(f.functions)+len(f.physical))
	for _, a := range f.functions {
		bdfs = append(bdfs, a.BDF)
	}
	for _, r := range f.physical {
		bdfs = append(bdfs, r.BDF)
	}
	vfs, err := readVFs(sc, bdfs...)
	f.vfs = vfs
	return err
}

// readVFs reads which PF each function is a VF of, by BDF: only when
// there are devices.vf rules, and never for a stand-in.
func readVFs(sc Config, bdfs ...string) (map[string]vfio.VF, error) {
	if len(sc.Config.Devices.VF) == 0 {
		return nil, nil
	}
	vfs := map[string]vfio.VF{}
	for _, bdf := range bdfs {
		if sc.StandIns[bdf] != nil {
			continue
		}
		vf, ok, err := vfio.VFOf(sc.sysfs(), bdf)
		if err != nil {
			return nil, err
		}
		if ok {
			vfs[bdf] = vf
		}
	}
	return vfs, nil
}

// vfSettings are the settings of the devices.vf rule that matches the
// function at bdf, assigned under source ("" for a VF netdev of the pod
// that no device plugin assigned), and the rule's name; none for a
// function that is no VF.
func vfSettings(sc Config, vfs map[string]vfio.VF, bdf, source string) (vfio.VFSettings, string) {
	vf, ok := vfs[bdf]
	if !ok {
		return vfio.VFSettings{}, ""
	}
	return devicemgr.VFSettingsFor(sc.Config.Devices.VF, vf, source)
}
