// Package core defines gosync's Semaphore and the Parker contract that a
// platform backend implements.
package core
