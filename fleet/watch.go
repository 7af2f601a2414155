package fleet

import (
	"context"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// watchLoop keeps s.mirror equal to the semaphore's state at the latest
// revision this process has seen, with one watch on the prefix, and after
// each change decides this process's waiters and holders (evaluateLocked).
//
// Every pass starts with a linearizable Get of the whole prefix and watches
// from the revision after it, so the mirror never misses a change: a
// compaction, a lost leader (the watch requires one) or a closed stream
// ends the pass and the next one starts from a fresh read, after a
// back-off if the read failed or the pass was short. The client resumes a
// watch across reconnects by itself.
func (s *Semaphore) watchLoop() {
	defer s.wg.Done()
	backoff := 10 * time.Millisecond
	for s.bg.Err() == nil {
		ctx, cancel := context.WithTimeout(s.bg, s.opTimeout)
		resp, err := s.cli.Get(ctx, s.pfx, clientv3.WithPrefix())
		cancel()
		if err != nil {
			sleepCtx(s.bg, backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		s.mu.Lock()
		s.mirror = viewOf(s.pfx, resp.Header.Revision, resp.Kvs)
		clear(s.deleted)
		s.watchHeard, s.probeAt = time.Now(), time.Time{}
		s.evaluateLocked()
		s.mu.Unlock()

		s.watchStarts.Add(1)
		passStart := time.Now()
		wctx, wcancel := context.WithCancel(clientv3.WithRequireLeader(s.bg))
		s.mu.Lock()
		s.watchCancel = wcancel
		s.mu.Unlock()
		wch := s.cli.Watch(wctx, s.pfx, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
		for wr := range wch {
			if wr.Err() != nil || wr.Canceled {
				break
			}
			s.mu.Lock()
			s.watchHeard, s.probeAt = time.Now(), time.Time{}
			if len(wr.Events) == 0 { // a progress notification
				s.caughtUpLocked()
				s.mu.Unlock()
				continue
			}
			for _, ev := range wr.Events {
				if ev.Type == clientv3.EventTypeDelete {
					s.mirror.del(s.pfx, string(ev.Kv.Key))
					delete(s.deleted, string(ev.Kv.Key))
				} else {
					s.headSeenLocked(ev.Kv)
					s.mirror.put(s.pfx, ev.Kv)
				}
				s.mirror.rev = max(s.mirror.rev, ev.Kv.ModRevision)
			}
			s.caughtUpLocked()
			s.evaluateLocked()
			s.mu.Unlock()
		}
		wcancel()
		// A watch the server ends at once (no leader, a closed stream)
		// must not turn into back-to-back reads of the whole semaphore:
		// the next pass waits, doubling up to a second, until a pass
		// lasts that long.
		if time.Since(passStart) < time.Second {
			sleepCtx(s.bg, backoff)
			backoff = min(2*backoff, time.Second)
		} else {
			backoff = 10 * time.Millisecond
		}
	}
}

// headSeenLocked learns, when kv puts a settle key the mirror does not
// have yet, the head just before that change from the mirror before kv is
// applied to it. The mirror then holds exactly the queue at the change's
// revision - 1: this pass of the watch started from a read before the
// change (a read at or after it would have shown the key) and has applied
// every revision since, and the change's own Txn writes no queue key.
// The rule in force there is the one the settle key records.
func (s *Semaphore) headSeenLocked(kv *mvccpb.KeyValue) {
	if string(kv.Key) != s.pfx+keySettle || kv.ModRevision == s.mirror.settleModRev {
		return
	}
	if max, closed, ok := parseSettle(kv.Value); ok {
		s.noteHeadLocked(kv.ModRevision, s.mirror.headUnder(max, closed, kv.ModRevision))
	}
}

// evaluateLocked decides, from the mirror, every local record whose Txn the
// mirror has caught up with: a waiter granted by the rule in grants()
// receives its Permit, one rejected fails, a held key that vanished (lease
// expired or revoked, or deleted by someone else) is reported lost. Keys of
// our leases that no record claims are left to the cleanup.
func (s *Semaphore) evaluateLocked() {
	v := s.mirror
	if v == nil {
		return
	}
	st, inUse, waiting := v.grants(s.mut.Load() == mutGrantByArrival)
	s.mirrorInUse, s.mirrorWaiting = inUse, waiting
	for key, l := range s.local {
		if l.rev == 0 || l.rev > v.rev {
			continue // pending, or the mirror has not seen its Txn yet
		}
		_, present := v.entries[key]
		switch l.state {
		case lsWaiting:
			switch {
			case !present:
				s.loseLocked(l)
			case st[key] == stGranted:
				l.ch <- result{p: s.holdLocked(l)}
			case st[key] == stTooLarge:
				s.failLocked(l, ErrTooLarge)
			case st[key] == stClosed:
				s.failLocked(l, ErrClosed)
			case !v.hasMax:
				s.failLocked(l, ErrNotExist)
			}
		case lsHeld:
			switch {
			case !present:
				s.loseLocked(l)
			case !v.settling && st[key] != stGranted:
				// The invariant every grant rests on is broken (a peer
				// rewrote the key, or a bug): the state no longer
				// counts these permits, so others may be granted
				// them. Tell the holder to stop, and give the key up.
				s.notGrantedLocked(l, st[key])
			}
		}
	}
	if s.hasOrphansLocked() {
		s.kickReaper()
	}
}

// notGrantedLocked ends a held record whose key the rule no longer counts
// as granted: its Permit reports ErrNotGranted and the key becomes an
// orphan that the cleanup deletes.
func (s *Semaphore) notGrantedLocked(l *local, st status) {
	delete(s.local, l.key)
	l.state = lsFailed
	s.notGranted++
	l.p.finishLocked(fmt.Errorf("%w: key %s is %s at revision %d", ErrNotGranted, l.key[len(s.pfx):], st, s.mirror.rev))
}

// orphansLocked lists keys of our leases in the mirror that no local record
// claims: the key of an Acquire that failed, was cancelled or refused, or a
// Permit released, whose delete has not been seen yet or failed.
func (s *Semaphore) orphansLocked() []string {
	if s.mirror == nil {
		return nil
	}
	var keys []string
	for key, e := range s.mirror.entries {
		if s.leases[e.lease] && s.local[key] == nil && !s.deleted[key] {
			keys = append(keys, key)
		}
	}
	return keys
}

func (s *Semaphore) hasOrphansLocked() bool { return len(s.orphansLocked()) > 0 }

// reapLoop deletes orphans: after a kick and then every 500 ms while some
// remain (a delete that failed while etcd was unreachable is retried until
// it lands or the lease ends).
func (s *Semaphore) reapLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.bg.Done():
			return
		case <-s.reapKick:
		case <-tick.C:
		}
		s.mu.Lock()
		keys := s.orphansLocked()
		s.checkLagLocked()
		probe := s.probeLocked()
		finish := s.unfinishedSettleLocked()
		s.mu.Unlock()
		if finish {
			ctx, cancel := context.WithTimeout(s.bg, s.opTimeout)
			_ = s.settle(ctx, nil)
			cancel()
		}
		if probe {
			// The answer comes on the watch stream (same metadata as
			// the watch's ctx, so the same stream), if it is synced.
			ctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(s.bg), s.opTimeout)
			_ = s.cli.RequestProgress(ctx)
			cancel()
		}
		// One Txn per 64 orphans: under overload, orphans pile up exactly
		// when each round trip is slowest.
		for len(keys) > 0 {
			batch := keys[:min(len(keys), 64)]
			keys = keys[len(batch):]
			ops := make([]clientv3.Op, len(batch))
			for i, key := range batch {
				ops[i] = clientv3.OpDelete(key)
			}
			ctx, cancel := context.WithTimeout(s.bg, s.opTimeout)
			_, _ = s.cli.Txn(ctx).Then(ops...).Commit()
			cancel()
		}
	}
}

// settleAfter is how long a shrink or Close may stay settling before any
// process that sees it finishes it: long enough for the process that
// started it to finish first, short because no grant is made meanwhile.
const settleAfter = time.Second

// unfinishedSettleLocked reports whether the mirror has shown the same
// settle key for settleAfter.
func (s *Semaphore) unfinishedSettleLocked() bool {
	v := s.mirror
	if v == nil || !v.settling {
		s.settleSeen = 0
		return false
	}
	if s.settleSeen != v.settleModRev {
		s.settleSeen, s.settleSince = v.settleModRev, time.Now()
		return false
	}
	return time.Since(s.settleSince) >= settleAfter
}

// resyncAfter is how long the mirror may stay behind a revision this
// process knows exists before the watch is restarted from a fresh read.
const resyncAfter = time.Second

// checkLagLocked restarts the watch if the mirror has stayed behind a
// revision this process has seen in a response (its own enqueue, at least)
// for resyncWait (resyncAfter, doubled after each restart up to
// maxResyncWait, see resyncLocked). A watch stream can fall far behind when etcd moves it to
// its slow, unsynced group or while a member restarts; a waiter must not
// sit out its ctx waiting for news the cluster already holds.
func (s *Semaphore) checkLagLocked() {
	if s.mirror == nil || s.mirror.rev >= s.knownRev {
		s.lagSince = time.Time{}
		return
	}
	if s.lagSince.IsZero() {
		s.lagSince = time.Now()
		return
	}
	if time.Since(s.lagSince) >= s.resyncWait && s.watchCancel != nil {
		s.lagSince = time.Time{}
		s.resyncLocked()
	}
}

// maxResyncWait bounds the back-off between watch restarts.
const maxResyncWait = 8 * time.Second

// resyncLocked restarts the watch from a fresh read, and doubles the wait
// before the next restart: each restart reads the whole semaphore, and a
// watch that keeps falling behind says the cluster is slow, which restarts
// at a fixed pace (from every process at once) would only make slower.
func (s *Semaphore) resyncLocked() {
	s.resyncs++
	s.lastResync = time.Now()
	s.resyncWait = min(2*s.resyncWait, maxResyncWait)
	s.watchCancel()
}

// caughtUpLocked records that the watch delivered something with the
// mirror current: once that holds for longer than the wait since the last
// restart, the back-off starts again from resyncAfter.
func (s *Semaphore) caughtUpLocked() {
	if s.mirror.rev >= s.knownRev && time.Since(s.lastResync) >= s.resyncWait {
		s.resyncWait = resyncAfter
	}
}

// probeLocked decides whether to ask etcd for a progress notification: a
// waiter is queued and the watch has been silent for resyncAfter. If a probe
// sent earlier got no answer within resyncWait, the watch is behind (etcd
// answers only synced watchers) or broken: it is restarted from a fresh
// read instead.
func (s *Semaphore) probeLocked() bool {
	waiting := false
	for _, l := range s.local {
		if l.state == lsWaiting {
			waiting = true
			break
		}
	}
	if !waiting || s.mirror == nil || time.Since(s.watchHeard) < resyncAfter {
		s.probeAt = time.Time{}
		return false
	}
	if s.probeAt.IsZero() {
		s.probeAt = time.Now()
		return true
	}
	if time.Since(s.probeAt) >= s.resyncWait && s.watchCancel != nil {
		s.probeAt = time.Time{}
		s.resyncLocked()
	}
	return false
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
