package qmp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// maxMessageSize bounds how much the decoder reads for one message, so a
// peer sending an endless value cannot exhaust memory. The largest real
// replies (query-pci, query-qmp-schema) are well below it.
const maxMessageSize = 32 << 20

// Version is QEMU's version as announced in the QMP greeting.
type Version struct {
	Major, Minor, Micro int
	Package             string // distribution build string, e.g. "Debian 1:7.2+dfsg-7"
}

func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Micro)
	if v.Package != "" {
		s += " (" + v.Package + ")"
	}
	return s
}

type messageKind int

const (
	kindGreeting messageKind = iota + 1
	kindReply
	kindEvent
)

// message is one decoded QMP message: a greeting, a reply or an event.
type message struct {
	kind    messageKind
	version Version         // kindGreeting
	id      json.RawMessage // kindReply; nil when QEMU could not echo one
	ret     json.RawMessage // kindReply, success
	err     *wireError      // kindReply, failure
	event   Event           // kindEvent
}

type wireMessage struct {
	QMP       *wireGreeting   `json:"QMP"`
	ID        json.RawMessage `json:"id"`
	Return    json.RawMessage `json:"return"`
	Error     *wireError      `json:"error"`
	Event     *string         `json:"event"`
	Data      json.RawMessage `json:"data"`
	Timestamp *wireTimestamp  `json:"timestamp"`
}

type wireGreeting struct {
	Version struct {
		QEMU struct {
			Major int `json:"major"`
			Minor int `json:"minor"`
			Micro int `json:"micro"`
		} `json:"qemu"`
		Package string `json:"package"`
	} `json:"version"`
	Capabilities []string `json:"capabilities"`
}

type wireError struct {
	Class string `json:"class"`
	Desc  string `json:"desc"`
}

type wireTimestamp struct {
	Seconds      int64 `json:"seconds"`
	Microseconds int64 `json:"microseconds"`
}

// decoder reads QMP messages from a stream. QEMU ends each message with a
// newline, but pretty-printed monitors span lines, so it decodes JSON values
// rather than lines. Any error is final: the stream cannot be resynchronized.
type decoder struct {
	lim limitReader
	dec *json.Decoder
}

func newDecoder(r io.Reader) *decoder {
	d := &decoder{lim: limitReader{r: r}}
	d.dec = json.NewDecoder(&d.lim)
	return d
}

func (d *decoder) next() (message, error) {
	d.lim.left = maxMessageSize
	var w wireMessage
	if err := d.dec.Decode(&w); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, errTooLong) {
			return message{}, err
		}
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if errors.As(err, &syn) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF) {
			return message{}, fmt.Errorf("%w: decoding message: %w", ErrProtocol, err)
		}
		return message{}, err // a read error from the connection
	}
	return classify(&w)
}

// classify checks that w is exactly one of the three message shapes.
func classify(w *wireMessage) (message, error) {
	isReply := w.Return != nil || w.Error != nil
	switch {
	case w.QMP != nil && !isReply && w.Event == nil:
		v := w.QMP.Version
		return message{kind: kindGreeting, version: Version{
			Major: v.QEMU.Major, Minor: v.QEMU.Minor, Micro: v.QEMU.Micro, Package: v.Package,
		}}, nil
	case isReply && w.QMP == nil && w.Event == nil:
		if w.Return != nil && w.Error != nil {
			return message{}, fmt.Errorf("%w: reply has both return and error", ErrProtocol)
		}
		return message{kind: kindReply, id: w.ID, ret: w.Return, err: w.Error}, nil
	case w.Event != nil && w.QMP == nil && !isReply:
		ev := Event{Name: *w.Event, Data: w.Data}
		if w.Timestamp != nil {
			ev.Timestamp = time.Unix(w.Timestamp.Seconds, w.Timestamp.Microseconds*1000)
		}
		return message{kind: kindEvent, event: ev}, nil
	}
	return message{}, fmt.Errorf("%w: message is neither a greeting, a reply nor an event", ErrProtocol)
}

var errTooLong = fmt.Errorf("%w: message longer than %d bytes", ErrProtocol, maxMessageSize)

// limitReader fails once more than left bytes are read; the decoder resets
// left for each message. The json.Decoder reads ahead, so the bound is
// approximate, which is all it needs to be.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errTooLong
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
