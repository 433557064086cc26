package pool

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// maxMessage bounds a request or an answer.
const maxMessage = 1 << 20

// maxFiles bounds the descriptors a claim hands over.
const maxFiles = 16

// Request is a claim: the front end's role for the warm process, the
// digest of its configuration, and what the role needs (its own JSON).
type Request struct {
	Role    string          `json:"role"`
	Digest  string          `json:"digest"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// answer is the warm process's reply to a claim.
type answer struct {
	Accepted bool   `json:"accepted"`
	Reason   string `json:"reason,omitempty"`
}

// send writes v as one length-prefixed JSON message, with files passed
// along (SCM_RIGHTS) on its first byte.
func send(c *net.UnixConn, v any, files []*os.File) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	msg = append(msg, data...)
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = unix.UnixRights(fds...)
	}
	n, _, err := c.WriteMsgUnix(msg, oob, nil)
	if err != nil {
		return err
	}
	if n < len(msg) {
		_, err = c.Write(msg[n:])
	}
	return err
}

// receive reads one message into v, with the files that came with it.
func receive(c *net.UnixConn, v any) ([]*os.File, error) {
	hdr := make([]byte, 4)
	oob := make([]byte, unix.CmsgSpace(maxFiles*4))
	n, oobn, _, _, err := c.ReadMsgUnix(hdr, oob)
	if err != nil {
		return nil, err
	}
	files, ferr := parseRights(oob[:oobn])
	if ferr != nil {
		return nil, ferr
	}
	fail := func(err error) ([]*os.File, error) {
		closeFiles(files)
		return nil, err
	}
	if n < len(hdr) {
		if _, err := io.ReadFull(c, hdr[n:]); err != nil {
			return fail(err)
		}
	}
	size := binary.BigEndian.Uint32(hdr)
	if size > maxMessage {
		return fail(fmt.Errorf("a message of %d bytes", size))
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(c, data); err != nil {
		return fail(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fail(err)
	}
	return files, nil
}

func parseRights(oob []byte) ([]*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			closeFiles(files)
			return nil, err
		}
		for _, fd := range fds {
			unix.CloseOnExec(fd)
			files = append(files, os.NewFile(uintptr(fd), "claimed"))
		}
	}
	return files, nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
