package qemu

import (
	"hash/fnv"
	"os"
	"strconv"
)

// FDSet is an open file put in one of QEMU's fd sets (-add-fd on the
// command line, QMP add-fd when hot-plugged): a backend then opens
// FDSetPath(ID), which QEMU serves from the set, and QEMU needs no access
// to the file's own path.
type FDSet struct {
	ID   int64
	File *os.File
	// Ref is File's reference on the command line (its fd number).
	Ref string
}

// FDSetPath is the path a backend opens to get the file of fd set id.
func FDSetPath(id int64) string { return "/dev/fdset/" + strconv.FormatInt(id, 10) }

// DeviceFDSet is the fd set of the device id on the command line: above
// every small set number and, device ids being unique in a VM, unique there
// short of a 30-bit hash collision, which Build refuses (hot plug picks the
// next free set). QEMU 7.2 parses the number in /dev/fdset/N as an int, so
// it stays below 2^31.
func DeviceFDSet(id string) int64 {
	h := fnv.New32a()
	h.Write([]byte(id))
	return 1<<30 + int64(h.Sum32()&(1<<30-1))
}

// NextFDSet is the fd set after id in DeviceFDSet's range, wrapping around.
func NextFDSet(id int64) int64 { return 1<<30 + (id+1)&(1<<30-1) }
