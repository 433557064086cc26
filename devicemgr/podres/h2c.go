package podres

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"golang.org/x/net/http2/hpack"
)

// A unary gRPC call over HTTP/2 without TLS on a unix socket, as the
// kubelet serves its pod-resources socket: written out here so that the
// shim and the per-sandbox process, which link this package, do not carry
// grpc-go's whole client (HTTP/2 transport, TLS, resolvers: 9 MiB more
// binary and more resident memory at every start). Tested against
// grpc-go's server (podrestest).

// HTTP/2 frame types and flags (RFC 9113).
const (
	frameData         = 0x0
	frameHeaders      = 0x1
	frameRSTStream    = 0x3
	frameSettings     = 0x4
	framePing         = 0x6
	frameGoAway       = 0x7
	frameWindowUpdate = 0x8
	frameContinuation = 0x9

	flagEndStream  = 0x1
	flagAck        = 0x1
	flagEndHeaders = 0x4
	flagPadded     = 0x8
	flagPriority   = 0x20
)

const (
	clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	streamID      = 1
	// maxFrame is the largest frame accepted: the HTTP/2 default the
	// client announces (it sends no SETTINGS of its own).
	maxFrame = 1 << 14
)

// unaryCall sends one gRPC request (message already encoded) for method
// (e.g. "/v1.PodResourcesLister/List") on conn and returns the response
// message.
func unaryCall(conn net.Conn, method string, request []byte, deadline time.Time) ([]byte, error) {
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	var hdr bytes.Buffer
	enc := hpack.NewEncoder(&hdr)
	for _, f := range [][2]string{
		{":method", "POST"}, {":scheme", "http"}, {":path", method}, {":authority", "localhost"},
		{"content-type", "application/grpc"}, {"te", "trailers"},
	} {
		if err := enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]}); err != nil {
			return nil, err
		}
	}
	body := make([]byte, 5+len(request)) // not compressed, length, message
	binary.BigEndian.PutUint32(body[1:5], uint32(len(request)))
	copy(body[5:], request)
	var out bytes.Buffer
	out.WriteString(clientPreface)
	writeFrame(&out, frameSettings, 0, 0, nil)
	writeFrame(&out, frameHeaders, flagEndHeaders, streamID, hdr.Bytes())
	writeFrame(&out, frameData, flagEndStream, streamID, body)
	if _, err := conn.Write(out.Bytes()); err != nil {
		return nil, fmt.Errorf("sending the request: %w", err)
	}
	return readResponse(conn)
}

func writeFrame(w *bytes.Buffer, typ, flags byte, stream uint32, payload []byte) {
	var h [9]byte
	h[0], h[1], h[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
	h[3], h[4] = typ, flags
	binary.BigEndian.PutUint32(h[5:], stream&0x7fffffff)
	w.Write(h[:])
	w.Write(payload)
}

// readResponse reads frames until the stream has ended and its last
// headers are decoded, answering the server's SETTINGS and PINGs and
// giving back the flow-control window the response's data used.
func readResponse(conn net.Conn) ([]byte, error) {
	var data, block []byte
	ended := false
	headers := map[string]string{}
	dec := hpack.NewDecoder(4096, func(f hpack.HeaderField) { headers[f.Name] = f.Value })
	for {
		typ, flags, stream, payload, err := readFrame(conn)
		if err != nil {
			return nil, fmt.Errorf("reading the response: %w", err)
		}
		var reply bytes.Buffer
		switch typ {
		case frameSettings:
			if flags&flagAck == 0 {
				writeFrame(&reply, frameSettings, flagAck, 0, nil)
			}
		case framePing:
			if flags&flagAck == 0 {
				writeFrame(&reply, framePing, flagAck, 0, payload)
			}
		case frameGoAway:
			return nil, fmt.Errorf("the server went away (GOAWAY, code %d)", goAwayCode(payload))
		case frameRSTStream:
			if stream == streamID {
				return nil, fmt.Errorf("the server reset the call (code %d)", be32(payload))
			}
		case frameData:
			if stream != streamID {
				continue
			}
			if payload, err = unpad(flags, payload); err != nil {
				return nil, err
			}
			data = append(data, payload...)
			if n := uint32(len(payload)); n > 0 {
				var inc [4]byte
				binary.BigEndian.PutUint32(inc[:], n)
				writeFrame(&reply, frameWindowUpdate, 0, 0, inc[:])
				writeFrame(&reply, frameWindowUpdate, 0, streamID, inc[:])
			}
		case frameHeaders, frameContinuation:
			if stream != streamID {
				continue
			}
			if typ == frameHeaders {
				if payload, err = unpad(flags, payload); err != nil {
					return nil, err
				}
				if flags&flagPriority != 0 {
					if len(payload) < 5 {
						return nil, errors.New("a HEADERS frame too short for its priority")
					}
					payload = payload[5:]
				}
			}
			block = append(block, payload...)
			if flags&flagEndHeaders != 0 {
				if _, err := dec.Write(block); err != nil {
					return nil, fmt.Errorf("decoding headers: %w", err)
				}
				block = block[:0]
			}
		}
		if reply.Len() > 0 {
			if _, err := conn.Write(reply.Bytes()); err != nil {
				return nil, err
			}
		}
		if stream == streamID && flags&flagEndStream != 0 && (typ == frameData || typ == frameHeaders) {
			ended = true
		}
		if ended && len(block) == 0 {
			return grpcMessage(headers, data)
		}
	}
}

func readFrame(r io.Reader) (typ, flags byte, stream uint32, payload []byte, err error) {
	var h [9]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return
	}
	n := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
	if n > maxFrame {
		err = fmt.Errorf("a frame of %d bytes, more than %d", n, maxFrame)
		return
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(r, payload)
	return h[3], h[4], binary.BigEndian.Uint32(h[5:]) & 0x7fffffff, payload, err
}

func unpad(flags byte, p []byte) ([]byte, error) {
	if flags&flagPadded == 0 {
		return p, nil
	}
	if len(p) == 0 || int(p[0]) >= len(p) {
		return nil, errors.New("a frame's padding is longer than the frame")
	}
	return p[1 : len(p)-int(p[0])], nil
}

func be32(p []byte) uint32 {
	if len(p) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(p)
}

func goAwayCode(p []byte) uint32 {
	if len(p) < 8 {
		return 0
	}
	return binary.BigEndian.Uint32(p[4:8])
}

// grpcMessage checks the call's status and returns its one message.
func grpcMessage(headers map[string]string, data []byte) ([]byte, error) {
	if s := headers[":status"]; s != "200" {
		return nil, fmt.Errorf("HTTP status %q", s)
	}
	if code, err := strconv.Atoi(headers["grpc-status"]); err != nil || code != 0 {
		return nil, fmt.Errorf("gRPC status %q: %s", headers["grpc-status"], headers["grpc-message"])
	}
	if len(data) < 5 {
		return nil, fmt.Errorf("a response of %d bytes, shorter than a message's prefix", len(data))
	}
	if data[0] != 0 {
		return nil, errors.New("a compressed response (none was offered)")
	}
	n := binary.BigEndian.Uint32(data[1:5])
	if uint64(n) != uint64(len(data)-5) {
		return nil, fmt.Errorf("a message of %d bytes announced, %d received", n, len(data)-5)
	}
	return data[5:], nil
}
