// Package core defines gosync's Semaphore, the Event and Cond that park on
// the same Backends, and the Parker contract that a platform backend
// implements.
package core
