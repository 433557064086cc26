// Package qmptest is a scripted fake QMP server for unit tests of QMP
// clients. It plays QEMU's side of one connection: it sends the greeting,
// accepts qmp_capabilities, then expects the script's commands in order,
// checks their arguments, and answers with canned replies and events. A
// command the script does not expect fails the test with a message naming
// what was expected instead. It speaks raw JSON and does not import the
// client, so it tests the client from the outside.
package qmptest
