// Package reaper owns child-process exit statuses in the agent. The agent runs
// as PID 1 of the guest, so every orphan in the VM is re-parented to it and
// must be reaped; a loop around wait4(-1) does that, and it would steal the
// statuses exec.Cmd.Wait expects. So nothing in the agent calls Wait: one
// Reaper collects every exit on SIGCHLD and hands it to whoever registered the
// pid. Exits nobody has claimed yet are kept for a bounded time, so a
// Register that loses the race with a fast-exiting child still gets its
// status; exits of true orphans are pruned.
//
// A process must run at most one Reaper. It also works outside PID 1: it then
// reaps the process's own children (and orphans, after SetSubreaper).
package reaper
