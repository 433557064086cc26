// Package restore makes a guest restored from a template's saved state its
// own. Every clone of a template wakes up with the template's kernel RNG
// state and clock: the kernel's vmgenid driver reseeds the RNG when QEMU
// tells it the generation id changed, and the host's seed, mixed in here
// and followed by a forced reseed, makes that certain before anything of a
// pod runs; the clock is set from the host's.
package restore
