package core

import (
	"testing"
	"testing/synctest"
)

// TestInBubble checks the bubble detection on the running Go: a wrong
// answer outside would stop pooling (or, inside, hand a bubble's Parkers
// to other bubbles, a fatal error).
func TestInBubble(t *testing.T) {
	if inBubble() {
		t.Fatal("inBubble() = true outside any synctest bubble")
	}
	synctest.Test(t, func(t *testing.T) {
		if !inBubble() {
			t.Fatal("inBubble() = false inside a synctest bubble")
		}
		done := make(chan bool)
		go func() { done <- inBubble() }()
		if !<-done {
			t.Fatal("inBubble() = false in a goroutine started inside a bubble")
		}
	})
}
