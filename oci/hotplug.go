package oci

import (
	"context"
	"log/slog"

	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/sandbox"
)

// hotplug serves the requests that hot-plug interfaces and volumes, an
// ability of the daemon (it embeds one) that a control.Handler may lack.
type hotplug struct {
	sb  *sandbox.Sandbox
	log *slog.Logger
}

var (
	_ control.NetworkHandler = (*hotplug)(nil)
	_ control.VolumeHandler  = (*hotplug)(nil)
	_ control.NetworkHandler = (*daemon)(nil)
)

// AddInterface hot-plugs the pod interface into the VM.
func (d *hotplug) AddInterface(ctx context.Context, req control.AddInterfaceRequest) (control.Interface, error) {
	n, err := d.sb.Network().Add(ctx, req.Name)
	if err != nil {
		return control.Interface{}, err
	}
	return toInterface(n), nil
}

// RemoveInterface hot-unplugs a pod interface.
func (d *hotplug) RemoveInterface(ctx context.Context, req control.RemoveInterfaceRequest) error {
	return d.sb.Network().Remove(ctx, req.Name)
}

// Interfaces lists the pod interfaces in the VM.
func (d *hotplug) Interfaces(context.Context) (control.InterfacesResponse, error) {
	r := control.InterfacesResponse{Interfaces: []control.Interface{}}
	for _, n := range d.sb.Network().List() {
		r.Interfaces = append(r.Interfaces, toInterface(n))
	}
	return r, nil
}

func toInterface(n sandbox.Interface) control.Interface {
	i := control.Interface{Name: n.Name, Model: string(n.Model), MAC: n.MAC, Queues: n.Queues, Hotplugged: n.Hotplugged}
	if t := n.Timings; t.QMP > 0 {
		i.Hotplug = &control.HotplugTimings{QMP: t.QMP, Visible: t.Visible, Configured: t.Configured}
	}
	return i
}

// AddVolume hot-plugs a volume and mounts it in the guest.
func (d *hotplug) AddVolume(ctx context.Context, req control.AddVolumeRequest) (control.VolumeInfo, error) {
	v, err := d.sb.Volumes().Add(ctx, sandbox.VolumeSpec{Name: req.Name, Kind: sandbox.VolumeKind(req.Kind), Source: req.Source,
		ReadOnly: req.ReadOnly, FSType: req.FSType})
	if err != nil {
		return control.VolumeInfo{}, err
	}
	d.log.Info("volume added", "volume", req.Name, "kind", req.Kind, "guest_path", v.GuestPath, "mounted", v.Timings.Configured)
	return toVolumeInfo(v), nil
}

// RemoveVolume unmounts and unplugs a volume.
func (d *hotplug) RemoveVolume(ctx context.Context, req control.RemoveVolumeRequest) error {
	return d.sb.Volumes().Remove(ctx, req.Name)
}

// Volumes lists the hot-plugged volumes.
func (d *hotplug) Volumes(context.Context) (control.VolumesResponse, error) {
	r := control.VolumesResponse{Volumes: []control.VolumeInfo{}}
	for _, v := range d.sb.Volumes().List() {
		r.Volumes = append(r.Volumes, toVolumeInfo(v))
	}
	return r, nil
}

func toVolumeInfo(v sandbox.Volume) control.VolumeInfo {
	t := v.Timings
	return control.VolumeInfo{Name: v.Name, Kind: string(v.Kind), Source: v.Source, ReadOnly: v.ReadOnly, GuestPath: v.GuestPath,
		Hotplug: control.HotplugTimings{QMP: t.QMP, Visible: t.Visible, Configured: t.Configured}}
}
