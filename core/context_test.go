package core_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// endedCtx is a context of size zero, as Background's is, that has always
// ended: the case where a check by type or by data pointer alone would
// mistake it for Background.
type endedCtx struct{}

var errEnded = errors.New("ended")

var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (endedCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (endedCtx) Done() <-chan struct{}       { return closedDone }
func (endedCtx) Err() error                  { return errEnded }
func (endedCtx) Value(key any) any           { return nil }
func (endedCtx) String() string              { return "endedCtx" }

func TestNeverEndsKnowsOnlyBackgroundAndTODO(t *testing.T) {
	if !core.NeverEnds(context.Background()) || !core.NeverEnds(context.TODO()) {
		t.Errorf("core.NeverEnds(Background) = %v, core.NeverEnds(TODO) = %v: want both true (the fast path's compares)",
			core.NeverEnds(context.Background()), core.NeverEnds(context.TODO()))
	}
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for name, ctx := range map[string]context.Context{
		"a zero-size context that has ended": endedCtx{},
		"a pointer to it":                    &endedCtx{},
		"WithCancel(Background)":             cctx,
		"WithoutCancel(Background)":          context.WithoutCancel(context.Background()),
		"WithValue(Background)":              context.WithValue(context.Background(), errEnded, 1),
	} {
		if core.NeverEnds(ctx) {
			t.Errorf("core.NeverEnds(%s) = true, want false", name)
		}
	}
}

// TestEndedContextFailsOnTheFastPath: a context that has ended fails AcquireN
// even with every permit free, whatever its type looks like.
func TestEndedContextFailsOnTheFastPath(t *testing.T) {
	s := core.NewSemaphore(2, chanBackend{})
	for name, ctx := range map[string]context.Context{
		"a zero-size context that has ended": endedCtx{},
		"a cancelled WithCancel": func() context.Context {
			c, cancel := context.WithCancel(context.Background())
			cancel()
			return c
		}(),
	} {
		p, err := s.AcquireN(ctx, 1)
		if err == nil || !errors.Is(err, ctx.Err()) {
			t.Errorf("AcquireN(%s, 1) = %v, %v: want its Err (%v)", name, p, err, ctx.Err())
			p.Release()
		}
		if got := s.InUse(); got != 0 {
			t.Errorf("after AcquireN(%s, 1) failed, InUse = %d, want 0", name, got)
		}
	}
	// A live context of any kind takes the permits.
	for name, ctx := range map[string]context.Context{
		"Background":    context.Background(),
		"TODO":          context.TODO(),
		"WithoutCancel": context.WithoutCancel(context.Background()),
	} {
		p, err := s.AcquireN(ctx, 2)
		if err != nil {
			t.Fatalf("AcquireN(%s, 2) on a free semaphore: %v", name, err)
		}
		p.Release()
	}
	c, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := s.AcquireN(c, 2)
	if err != nil {
		t.Fatalf("AcquireN(a live WithCancel, 2) on a free semaphore: %v", err)
	}
	p.Release()
}
