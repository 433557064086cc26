package qmptest

import (
	"bytes"
	"net"
	"os"
	"syscall"
)

// maxFDs bounds the descriptors accepted with one read.
const maxFDs = 16

// reader splits the client's stream into lines (the client under test ends
// each request with a newline) and, like QEMU, keeps the descriptors that
// came with the latest read that carried any, for getfd to take.
type reader struct {
	conn net.Conn
	uc   *net.UnixConn // nil when conn cannot carry descriptors
	buf  []byte
	fds  []*os.File
}

func newReader(conn net.Conn) *reader {
	uc, _ := conn.(*net.UnixConn)
	return &reader{conn: conn, uc: uc}
}

func (r *reader) line() ([]byte, error) {
	for {
		if i := bytes.IndexByte(r.buf, '\n'); i >= 0 {
			line := bytes.Clone(r.buf[:i])
			r.buf = r.buf[i+1:]
			return line, nil
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

func (r *reader) fill() error {
	p := make([]byte, 64<<10)
	if r.uc == nil {
		n, err := r.conn.Read(p)
		r.buf = append(r.buf, p[:n]...)
		if n > 0 {
			return nil
		}
		return err
	}
	oob := make([]byte, syscall.CmsgSpace(4*maxFDs))
	n, oobn, _, _, err := r.uc.ReadMsgUnix(p, oob)
	n, oobn = max(n, 0), max(oobn, 0) // -1 on some errors
	r.buf = append(r.buf, p[:n]...)
	if oobn > 0 {
		r.keepFDs(oob[:oobn])
	}
	if n > 0 {
		return nil
	}
	return err
}

// keepFDs replaces the held descriptors with those in the control message.
func (r *reader) keepFDs(oob []byte) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := syscall.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), "qmptest-received-fd"))
		}
	}
	if len(files) > 0 {
		r.closeFDs()
		r.fds = files
	}
}

// takeFD returns the first held descriptor (getfd takes one) and forgets
// the rest.
func (r *reader) takeFD() *os.File {
	if len(r.fds) == 0 {
		return nil
	}
	f := r.fds[0]
	for _, extra := range r.fds[1:] {
		extra.Close()
	}
	r.fds = nil
	return f
}

func (r *reader) closeFDs() {
	for _, f := range r.fds {
		f.Close()
	}
	r.fds = nil
}
