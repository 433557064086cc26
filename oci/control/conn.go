package control

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// The control socket is SOCK_SEQPACKET: each message is one JSON document
// in one packet, with the descriptors it carries attached, so there is no
// framing to get wrong and a message never arrives in pieces.
const (
	network = "unixpacket"
	// maxMessage bounds a message; a process spec is a few KiB.
	maxMessage = 256 << 10
	// maxFiles is the most descriptors a message carries (exec's stdio).
	maxFiles = 3
)

// writeMsg sends v, with files attached, as one packet.
func writeMsg(c *net.UnixConn, v any, files []*os.File) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding message: %w", err)
	}
	if len(data) > maxMessage {
		return fmt.Errorf("message of %d bytes exceeds %d", len(data), maxMessage)
	}
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = unix.UnixRights(fds...)
	}
	if _, _, err := c.WriteMsgUnix(data, oob, nil); err != nil {
		return fmt.Errorf("sending message: %w", err)
	}
	return nil
}

// readMsg receives one packet into v and returns the files it carried,
// which the caller owns. A connection closed by the peer reads as io.EOF.
func readMsg(c *net.UnixConn, v any) ([]*os.File, error) {
	buf := make([]byte, maxMessage+1)
	oob := make([]byte, unix.CmsgSpace(maxFiles*4))
	n, oobn, flags, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	files, ferr := filesFromRights(oob[:oobn])
	switch {
	case ferr != nil:
		return nil, ferr
	case flags&unix.MSG_CTRUNC != 0:
		closeAll(files)
		return nil, fmt.Errorf("message carried more than %d descriptors", maxFiles)
	case n == 0:
		closeAll(files)
		return nil, io.EOF
	case n > maxMessage || flags&unix.MSG_TRUNC != 0:
		closeAll(files)
		return nil, fmt.Errorf("message exceeds %d bytes", maxMessage)
	}
	if err := json.Unmarshal(buf[:n], v); err != nil {
		closeAll(files)
		return nil, fmt.Errorf("decoding message: %w", err)
	}
	return files, nil
}

// filesFromRights turns the SCM_RIGHTS descriptors in oob into files.
func filesFromRights(oob []byte) ([]*os.File, error) {
	fds, err := fdsFromRights(oob)
	if err != nil {
		return nil, err
	}
	files := make([]*os.File, len(fds))
	for i, fd := range fds {
		files[i] = os.NewFile(uintptr(fd), fmt.Sprintf("passed-fd-%d", fd))
	}
	return files, nil
}

// fdsFromRights returns the SCM_RIGHTS descriptors in oob, close-on-exec.
func fdsFromRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("parsing control message: %w", err)
	}
	var all []int
	for i := range msgs {
		fds, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue // not SCM_RIGHTS (credentials): nothing to close
		}
		for _, fd := range fds {
			unix.CloseOnExec(fd)
		}
		all = append(all, fds...)
	}
	return all, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}
