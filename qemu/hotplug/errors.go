package hotplug

import "errors"

// ErrUnsupported is wrapped by the error of a Plug refused because QMP
// cannot add one of the device's parts (a 9p fsdev, a chardev backend
// without a typed call). Nothing was sent to QEMU.
var ErrUnsupported = errors.New("hotplug: not hot-pluggable over QMP")
