package core_test

import (
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// The notifiers (Cond.Signal, Cond.Broadcast, Event.Set, Event.Clear,
// Event.NotifyOne, Event.Close) never park or yield their caller (the rule
// TestDefaultReleaseNeverYields checks for Release). Two counting tests
// check it: one counts, at run time, the Parks and core yields made on the
// notifying goroutine; the other counts, in the source, every call that
// could hand the processor away on any path the notifiers reach.

// goid returns the current goroutine's id, from its stack header.
func goid() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := bytes.Fields(buf)
	return string(f[1]) // "goroutine <id> [running]:"
}

// countingBackend's Parkers record which goroutines called Park.
type countingBackend struct {
	mu     sync.Mutex
	parked map[string]int
}

func (*countingBackend) Name() string { return "counting" }

func (b *countingBackend) NewParker() core.Parker {
	return &countingParker{b: b, inner: chanBackend{}.NewParker()}
}

func (b *countingBackend) parks(id string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.parked[id]
}

type countingParker struct {
	b     *countingBackend
	inner core.Parker
}

func (p *countingParker) Park(ctx context.Context) error {
	p.b.mu.Lock()
	p.b.parked[goid()]++
	p.b.mu.Unlock()
	return p.inner.Park(ctx)
}

func (p *countingParker) Unpark() { p.inner.Unpark() }

func TestNotifiersNeverParkOrYieldAtRunTime(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	var yields atomic.Int64
	restore := core.SetYield(func() { yields.Add(1) })
	defer restore()
	b := &countingBackend{parked: make(map[string]int)}

	var mu sync.Mutex
	c := core.NewCond(&mu, b)
	e := core.NewEvent(b)
	// Waiters for every notifier to wake: Cond waiters loop until stop, so
	// each Signal and Broadcast finds some queued.
	stop := false
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			mu.Lock()
			defer mu.Unlock()
			for !stop {
				_ = c.Wait(context.Background())
			}
		})
		wg.Go(func() {
			for range 50 {
				_ = e.Wait(context.Background())
			}
		})
	}

	waitFor(t, "the Cond waiters to queue", func() bool { return c.Waiting() == 4 })
	notifier := make(chan string)
	go func() {
		id := goid()
		for range 2000 {
			c.Signal()
			c.Broadcast()
			e.NotifyOne()
			e.Set()
			e.Clear()
		}
		mu.Lock()
		stop = true
		mu.Unlock()
		c.Broadcast()
		e.Set()
		e.Close()
		notifier <- id
	}()
	id := <-notifier
	wg.Wait()
	if n := b.parks(id); n != 0 {
		t.Errorf("the notifying goroutine called Park %d times, want 0", n)
	}
	if n := yields.Load(); n != 0 {
		t.Errorf("notifiers yielded %d times, want 0", n)
	}
	total := 0
	b.mu.Lock()
	for _, n := range b.parked {
		total += n
	}
	b.mu.Unlock()
	if total == 0 {
		t.Errorf("no waiter ever parked: the test checked nothing")
	}
}

// forbidden reports why a call or statement could give the processor away,
// or "" if it cannot. Calls into the sync and sync/atomic packages (an
// uncontended internal mutex, atomics) are allowed; a Parker's Unpark is
// allowed (the contract says it never blocks for long).
func forbidden(n ast.Node) string {
	switch n := n.(type) {
	case *ast.CallExpr:
		switch f := n.Fun.(type) {
		case *ast.Ident:
			if f.Name == "yield" {
				return "calls yield"
			}
		case *ast.SelectorExpr:
			if x, ok := f.X.(*ast.Ident); ok && (x.Name == "runtime" || x.Name == "time") {
				return "calls " + x.Name + "." + f.Sel.Name
			}
			if f.Sel.Name == "Park" || f.Sel.Name == "Wait" {
				return "calls " + f.Sel.Name
			}
		}
	case *ast.SendStmt:
		return "sends on a channel"
	case *ast.UnaryExpr:
		if n.Op == token.ARROW {
			return "receives from a channel"
		}
	case *ast.SelectStmt:
		return "selects"
	case *ast.GoStmt:
		return "starts a goroutine"
	}
	return ""
}

func TestNotifiersNeverParkOrYieldInTheSource(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	// Functions of the package by name; methods of any receiver share a
	// name, which over-approximates the call graph (safe for this check).
	funcs := make(map[string][]*ast.FuncDecl)
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
				funcs[fd.Name.Name] = append(funcs[fd.Name.Name], fd)
			}
		}
	}
	roots := map[string]string{"Signal": "Cond", "Broadcast": "Cond", "Set": "Event", "Clear": "Event", "NotifyOne": "Event"}
	visited := make(map[*ast.FuncDecl]bool)
	var queue []*ast.FuncDecl
	for name, recv := range roots {
		for _, fd := range funcs[name] {
			if fd.Recv != nil && strings.Contains(types(fd), recv) {
				queue = append(queue, fd)
			}
		}
	}
	// Event.Close, not Semaphore.Close.
	for _, fd := range funcs["Close"] {
		if strings.Contains(types(fd), "Event") {
			queue = append(queue, fd)
		}
	}
	if len(queue) != 6 {
		t.Fatalf("found %d notifier declarations, want 6", len(queue))
	}
	var bad []string
	reached := make(map[string]bool)
	for len(queue) > 0 {
		fd := queue[0]
		queue = queue[1:]
		if visited[fd] {
			continue
		}
		visited[fd] = true
		reached[fd.Name.Name] = true
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			if why := forbidden(n); why != "" {
				bad = append(bad, fset.Position(n.Pos()).String()+": "+fd.Name.Name+" "+why)
			}
			if call, ok := n.(*ast.CallExpr); ok {
				var name string
				switch f := call.Fun.(type) {
				case *ast.Ident:
					name = f.Name
				case *ast.SelectorExpr:
					name = f.Sel.Name
				}
				queue = append(queue, funcs[name]...)
			}
			return true
		})
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Errorf("a notifier can give the processor away: %s", b)
	}
	// The walk must reach the code that does the waking, or it proves
	// nothing.
	for _, name := range []string{"wakeOneLocked", "wakeAllLocked", "wake"} {
		if !reached[name] {
			t.Errorf("the call graph walk never reached %s, want it to cover the wake path", name)
		}
	}
}

// types returns the receiver type of a method as written.
func types(fd *ast.FuncDecl) string {
	var b strings.Builder
	for _, f := range fd.Recv.List {
		ast.Inspect(f.Type, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok {
				b.WriteString(id.Name)
			}
			return true
		})
	}
	return b.String()
}
