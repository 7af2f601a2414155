// Package fleet is a weighted counting semaphore shared by every process
// that opens it on one etcd cluster: a concurrency limit that holds for a
// whole fleet of replicas, not per replica.
//
// It keeps the semantics of core.Semaphore wherever they can hold across
// machines: weighted AcquireN and TryAcquireN, strict FIFO order (etcd
// revision order) with direct handoff, ctx cancellation that never strands
// a permit, SetMaxPermits, Close, and introspection; errors satisfy
// errors.Is with core.ErrClosed and core.ErrTooLarge. What a network adds:
// every call may fail with an etcd error (wrapped) and takes a ctx, and a
// Permit can be lost when the process's lease expires, which the Permit
// reports through Done and Err.
//
// The state lives entirely in etcd under one key prefix per semaphore, and
// which keys hold permits is a pure function of that state at a revision,
// so processes never send grants to each other. docs/fleet.md describes the
// key layout, why the order is FIFO, the failure table, and when to use
// core instead.
package fleet
