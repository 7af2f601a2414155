// Package ring is a minimal io_uring submission/completion ring for the
// iouring backend, written over golang.org/x/sys/unix raw system calls (no
// cgo, no third-party io_uring library). It exists only on Linux; on other
// systems the package is empty.
//
// It covers what a futex backend needs and nothing more: io_uring_setup with
// a chosen SQ/CQ size, the three mmaps, pushing SQEs, io_uring_enter with
// EINTR retry, reaping CQEs (including flushing the kernel's CQ overflow
// list), IORING_REGISTER_PROBE and IORING_REGISTER_EVENTFD.
//
// A Ring is not safe for concurrent use: the caller serialises the submission
// side (Push, Unsubmitted, Submit) with one lock and the completion side
// (Reap) with another; the two sides may run concurrently, because they touch
// disjoint ring fields. Close must not race with either.
package ring
