package core

import (
	"context"
	"unsafe"
)

// ctxWords is an interface value's two machine words.
type ctxWords struct{ a, b uintptr }

// neverDone holds context.Background() and context.TODO() as machine
// words: the contexts that can never end, and the ones most callers pass.
var neverDone = [2]ctxWords{wordsOf(context.Background()), wordsOf(context.TODO())}

func wordsOf(ctx context.Context) ctxWords { return *(*ctxWords)(unsafe.Pointer(&ctx)) }

// neverEnds reports, with two compares and no call, whether ctx is
// context.Background() or context.TODO(). A false answer says nothing:
// the caller asks notDone.
//
// Why the compares are sound: two interface values whose words are
// identical hold the same dynamic type and the same data, so they are the
// same value; a context whose words equal Background's is Background,
// whatever the runtime's layout of an interface. Were a runtime to
// represent one value by different words, the compares would miss and
// notDone would decide, as it does for every other context. The compiler
// keeps ctx in registers: this is two or four compares of registers with
// memory, where ctx.Done() is an indirect call with a frame around it.
func neverEnds(ctx context.Context) bool {
	// Word by word from ctx itself, not a copy: a 16-byte copy of the two
	// words AcquireN spills would wait for the stores to retire (a load
	// wider than the stores it reads cannot be forwarded from them).
	w := (*ctxWords)(unsafe.Pointer(&ctx))
	return w.a == neverDone[0].a && w.b == neverDone[0].b ||
		w.a == neverDone[1].a && w.b == neverDone[1].b
}

// notDone reports whether ctx has not ended: ctx.Done() is nil (it can
// never end) or not yet closed.
func notDone(ctx context.Context) bool {
	done := ctx.Done()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}
