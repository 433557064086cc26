// Package control is the protocol between the kite CLI and the OCI front
// end's per-sandbox process: spawning it with a report pipe on which it
// says "created" or why not (Spawn), its control socket (typed JSON over a
// SOCK_SEQPACKET unix socket, one request and one response per connection:
// Request, Response, Client, Serve), exec's stdio passed as descriptors
// (SCM_RIGHTS), and runc's console-socket protocol (SendConsole,
// ReceiveConsole).
//
// Errors travel with a Code that the engine's classification decides
// (ToError, from sandbox.Classify), and match this package's sentinels
// with errors.Is on the client side, so that the CLI answers like runc
// whichever process failed.
package control
