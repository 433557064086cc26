// Package protocol owns the Kite agent API: agent.proto, the Go code
// generated from it (messages by protoc-gen-go, the ttrpc service by
// protoc-gen-go-ttrpc) and the constants both ends must agree on. The host
// side speaks it through agent/client, the guest side through agent/server.
//
// Regenerate after editing agent.proto, and commit the result:
//
//	agent/protocol/generate.sh          # rewrite agent.pb.go, agent_ttrpc.pb.go
//	agent/protocol/generate.sh --check  # exit 1 when they are stale (CI)
package protocol

//go:generate ./generate.sh
